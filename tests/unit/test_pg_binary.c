/* PostgreSQL binary COPY values to LAND text (jobs/sources/postgresql_binary.c).
 * The byte layouts below are what PostgreSQL 15's send functions produce
 * (checked with int8send, numeric_send, ... in psql); the expected texts are
 * its text output in a UTC session. tests/integration/pg-binary.test.mjs
 * compares the two paths on a real server, edge values and random rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/sources/postgresql_binary.h"

static char text[8192];

/* A one-column tuple holding `hex` (NULL: SQL NULL), converted as `type`;
 * the text, or NULL when refused. */
static const char *one(int type, const char *hex)
{
	unsigned char tuple[4096];
	size_t n = 0, len = hex ? strlen(hex) / 2 : 0;
	tuple[n++] = 0;
	tuple[n++] = 1;
	uint32_t l = hex ? (uint32_t)len : 0xFFFFFFFFu;
	tuple[n++] = (unsigned char)(l >> 24);
	tuple[n++] = (unsigned char)(l >> 16);
	tuple[n++] = (unsigned char)(l >> 8);
	tuple[n++] = (unsigned char)l;
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		tuple[n++] = (unsigned char)v;
	}
	struct dynbuf b = {0};
	size_t used = 0;
	int end = 0;
	int rc = pgbin_tuple_text(&b, tuple, n, &type, 1, &used, &end);
	snprintf(text, sizeof text, "%s", dynbuf_cstr(&b));
	dynbuf_free(&b);
	return rc == PGBIN_OK && used == n && !end ? text : NULL;
}

static void test_integers_and_bool(void **state)
{
	(void)state;
	assert_string_equal(one(PGBIN_INT8, "0000000000000001"), "1");
	assert_string_equal(one(PGBIN_INT8, "8000000000000000"), "-9223372036854775808");
	assert_string_equal(one(PGBIN_INT8, "7fffffffffffffff"), "9223372036854775807");
	assert_string_equal(one(PGBIN_INT4, "80000000"), "-2147483648");
	assert_string_equal(one(PGBIN_INT2, "ffff"), "-1");
	assert_string_equal(one(PGBIN_BOOL, "01"), "t");
	assert_string_equal(one(PGBIN_BOOL, "00"), "f");
	assert_null(one(PGBIN_BOOL, "02"));
	assert_null(one(PGBIN_INT4, "0001"));      /* a length its type cannot have */
	assert_string_equal(one(PGBIN_INT4, NULL), "\\N");
}

static void test_numeric(void **state)
{
	(void)state;
	assert_string_equal(one(PGBIN_NUMERIC, "0002000000000002007b1194"), "123.45");
	assert_string_equal(one(PGBIN_NUMERIC, "0001fffe4000000804d2"), "-0.00001234");
	assert_string_equal(one(PGBIN_NUMERIC, "0001fffb000000140001"), "0.00000000000000000001");
	assert_string_equal(one(PGBIN_NUMERIC, "0003000100000001000100001388"), "10000.5");
	assert_string_equal(one(PGBIN_NUMERIC, "0000000000000002"), "0.00");
	assert_string_equal(one(PGBIN_NUMERIC, "0000000000000000"), "0");
	assert_string_equal(one(PGBIN_NUMERIC, "00010005000000000001"), "100000000000000000000");
	assert_string_equal(one(PGBIN_NUMERIC, "00000000c0000000"), "NaN");
	assert_string_equal(one(PGBIN_NUMERIC, "00000000d0000000"), "Infinity");
	assert_string_equal(one(PGBIN_NUMERIC, "00000000f0000000"), "-Infinity");
	assert_null(one(PGBIN_NUMERIC, "000200000000000200"));      /* digits missing */
	assert_null(one(PGBIN_NUMERIC, "0001000000000000ffff"));    /* a digit over 9999 */
	assert_null(one(PGBIN_NUMERIC, "0000000012340000"));        /* an unknown sign */
}

static void test_dates_and_times(void **state)
{
	(void)state;
	assert_string_equal(one(PGBIN_DATE, "00000000"), "2000-01-01");
	assert_string_equal(one(PGBIN_DATE, "ffffffff"), "1999-12-31");
	assert_string_equal(one(PGBIN_DATE, "fff4dbf8"), "0001-12-31 BC");   /* -730120 */
	assert_string_equal(one(PGBIN_DATE, "7fda970c"), "5874897-12-31");   /* 2145031948 */
	assert_string_equal(one(PGBIN_DATE, "7fffffff"), "infinity");
	assert_string_equal(one(PGBIN_DATE, "80000000"), "-infinity");
	assert_string_equal(one(PGBIN_TIMESTAMP, "0000000000000000"), "2000-01-01 00:00:00");
	assert_string_equal(one(PGBIN_TIMESTAMP, "0000000000000001"), "2000-01-01 00:00:00.000001");
	assert_string_equal(one(PGBIN_TIMESTAMP, "ffffffffffffffff"), "1999-12-31 23:59:59.999999");
	assert_string_equal(one(PGBIN_TIMESTAMPTZ, "000000000007a120"), "2000-01-01 00:00:00.5+00");
	/* -64464463799500000 us: 0044-03-15 12:30:00.5 BC */
	assert_string_equal(one(PGBIN_TIMESTAMP, "ff1af9e966984320"), "0044-03-15 12:30:00.5 BC");
	assert_string_equal(one(PGBIN_TIMESTAMPTZ, "7fffffffffffffff"), "infinity");
	assert_string_equal(one(PGBIN_TIMESTAMPTZ, "8000000000000000"), "-infinity");
}

static void test_text_json_uuid(void **state)
{
	(void)state;
	/* tab, newline, backslash, CR are escaped; other bytes pass */
	assert_string_equal(one(PGBIN_TEXT, "6109620a5c0d08"), "a\\tb\\n\\\\\\r\b");
	assert_string_equal(one(PGBIN_TEXT, ""), "");
	assert_null(one(PGBIN_TEXT, "6100"));          /* a NUL: no PostgreSQL text has one */
	assert_string_equal(one(PGBIN_JSONB, "017b7d"), "{}");
	assert_null(one(PGBIN_JSONB, "027b7d"));       /* an unknown jsonb version */
	assert_string_equal(one(PGBIN_UUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

static void test_framing(void **state)
{
	(void)state;
	static const unsigned char header[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	assert_int_equal(pgbin_header_len(header, 19), 19);
	assert_int_equal(pgbin_header_len(header, 18), PGBIN_BAD);
	static const unsigned char ext[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\2xy";
	assert_int_equal(pgbin_header_len(ext, 21), 21);
	assert_int_equal(pgbin_header_len((const unsigned char *)"PGCOPX\n\377\r\n\0\0\0\0\0\0\0\0\0", 19), PGBIN_BAD);

	/* two columns, int4 7 and NULL; then the trailer */
	const unsigned char tuple[] = {0, 2, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	int types[2] = {PGBIN_INT4, PGBIN_TEXT};
	struct dynbuf b = {0};
	size_t used;
	int end;
	assert_int_equal(pgbin_tuple_text(&b, tuple, sizeof tuple, types, 2, &used, &end), PGBIN_OK);
	assert_int_equal(used, 14);
	assert_false(end);
	assert_string_equal(dynbuf_cstr(&b), "7\t\\N");
	assert_int_equal(pgbin_tuple_text(&b, tuple + 14, 2, types, 2, &used, &end), PGBIN_OK);
	assert_true(end);
	/* a field count that is not the columns', a length past the end */
	assert_int_equal(pgbin_tuple_text(&b, tuple, sizeof tuple, types, 1, &used, &end), PGBIN_BAD);
	assert_int_equal(pgbin_tuple_text(&b, tuple, 9, types, 2, &used, &end), PGBIN_BAD);
	dynbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers_and_bool),
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_dates_and_times),
		cmocka_unit_test(test_text_json_uuid),
		cmocka_unit_test(test_framing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
