/* Fuzz target: COPY text values to binary COPY fields
 * (jobs/sources/copy_typed.c), on arbitrary bytes.
 *
 * Input: byte 0 picks the type, the rest is the value. Besides the
 * sanitizers, it checks:
 *  - a refused value leaves the buffer as it was;
 *  - an accepted one is a well-formed field: the binary-to-text converter
 *    (postgresql_binary.c) reads it back whole, as one line;
 *  - a number read back converts again to the same bytes (one form each).
 * A violated invariant aborts, which libFuzzer reports as a crash. */
#include "tests/fuzz/fuzz.h"
#include "jobs/sources/copy_typed.h"
#include "jobs/sources/postgresql_binary.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int pgbin[] = {
		[COPY_TYPED_BOOL] = PGBIN_BOOL, [COPY_TYPED_INT2] = PGBIN_INT2, [COPY_TYPED_INT4] = PGBIN_INT4,
		[COPY_TYPED_INT8] = PGBIN_INT8, [COPY_TYPED_NUMERIC] = PGBIN_NUMERIC, [COPY_TYPED_DATE] = PGBIN_DATE,
		[COPY_TYPED_TIMESTAMP] = PGBIN_TIMESTAMP, [COPY_TYPED_TEXT] = PGBIN_TEXT,
	};
	if (size < 1)
		return 0;
	enum copy_typed_kind kind = (enum copy_typed_kind)(data[0] % (COPY_TYPED_TEXT + 1));
	const char *value = (const char *)data + 1;
	size_t n = size - 1;

	struct dynbuf b = {0}, t = {0}, again = {0};
	CHECK(copy_typed_add_count(&b, 1) == COPY_TYPED_OK);
	int rc = copy_typed_add(&b, kind, value, n);
	if (rc != COPY_TYPED_OK) {
		CHECK(rc == COPY_TYPED_NO && b.len == 2);
		goto out;
	}
	size_t used = 0;
	int end = 0, type = pgbin[kind];
	CHECK(pgbin_tuple_text(&t, (const unsigned char *)b.data, b.len, &type, 1, &used, &end) == PGBIN_OK);
	CHECK(used == b.len && !end);
	CHECK(!memchr(t.data, '\n', t.len) && !memchr(t.data, '\t', t.len));
	if (kind != COPY_TYPED_TEXT && kind != COPY_TYPED_BOOL) {
		CHECK(copy_typed_add_count(&again, 1) == COPY_TYPED_OK);
		CHECK(copy_typed_add(&again, kind, t.data, t.len) == COPY_TYPED_OK);
		CHECK(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
	}
out:
	dynbuf_free(&b);
	dynbuf_free(&t);
	dynbuf_free(&again);
	return 0;
}
