/* Fuzz target: a PostgreSQL source's binary COPY rows to LAND text
 * (jobs/sources/postgresql_binary.c), on arbitrary bytes: what a hostile or
 * broken source could send.
 *
 * Input: byte 0 is the number of columns (1..16), the next that many bytes
 * their types (modulo the converter's types), then the stream: a header and
 * tuples, read the way the extractor reads them. Besides the sanitizers, it
 * checks:
 *  - a tuple accepted consumes at least its field count and no more than
 *    it was given, and its text is one line: exactly ncols - 1 tabs, no
 *    newline, CR or NUL (escapes keep them out);
 *  - a refused tuple leaves the output as it was (no partial row).
 * A violated invariant aborts, which libFuzzer reports as a crash. */
#include "tests/fuzz/fuzz.h"
#include "jobs/sources/postgresql_binary.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int ncols = data[0] % 16 + 1;
	if (size < 1 + (size_t)ncols)
		return 0;
	int types[16];
	for (int i = 0; i < ncols; i++)
		types[i] = data[1 + i] % (PGBIN_UUID + 1);
	const unsigned char *p = data + 1 + ncols;
	size_t n = size - 1 - (size_t)ncols;

	long h = pgbin_header_len(p, n);
	if (h < 0)
		return 0;
	CHECK((size_t)h >= 19 && (size_t)h <= n);
	size_t o = (size_t)h;
	struct dynbuf b = {0};
	while (o < n) {
		size_t used = 0;
		int end = 0;
		b.len = 0;
		if (b.data)
			b.data[0] = 0;
		int rc = pgbin_tuple_text(&b, p + o, n - o, types, ncols, &used, &end);
		if (rc != PGBIN_OK) {
			CHECK(b.len == 0 && (!b.data || b.data[0] == 0)); /* a refused tuple leaves nothing */
			break;
		}
		CHECK(used >= 2 && used <= n - o);
		o += used;
		if (end)
			break;
		const char *t = dynbuf_cstr(&b);
		int tabs = 0;
		for (size_t i = 0; i < b.len; i++) {
			CHECK(t[i] != '\n' && t[i] != '\r' && t[i] != 0);
			tabs += t[i] == '\t';
		}
		CHECK(tabs == ncols - 1);
	}
	dynbuf_free(&b);
	return 0;
}
