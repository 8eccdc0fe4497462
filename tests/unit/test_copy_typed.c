/* COPY text values to binary COPY fields (jobs/sources/copy_typed.c), read
 * back with the binary-to-text converter (postgresql_binary.c), whose
 * output is PostgreSQL's own text: a value comes back in the form the cast
 * in TRUSTED would store. tests/integration/sftp.test.mjs ("typed while
 * landing") compares with the cast itself on a real server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "jobs/sources/copy_typed.h"
#include "jobs/sources/postgresql_binary.h"

static char text[8192];

/* `value` typed as `kind` and read back as `pgbin`; NULL when refused. */
static const char *round_trip(enum copy_typed_kind kind, int pgbin, const char *value)
{
	struct dynbuf b = {0}, t = {0};
	const char *out = NULL;
	if (copy_typed_add_count(&b, 1) == COPY_TYPED_OK &&
	    copy_typed_add(&b, kind, value, strlen(value)) == COPY_TYPED_OK) {
		size_t used = 0;
		int end = 0;
		if (pgbin_tuple_text(&t, (const unsigned char *)b.data, b.len, &pgbin, 1, &used, &end) == PGBIN_OK &&
		    used == b.len && !end) {
			snprintf(text, sizeof text, "%s", dynbuf_cstr(&t));
			out = text;
		}
	}
	dynbuf_free(&b);
	dynbuf_free(&t);
	return out;
}

static void test_integers_and_bool(void **state)
{
	(void)state;
	assert_string_equal(round_trip(COPY_TYPED_INT8, PGBIN_INT8, "9223372036854775807"), "9223372036854775807");
	assert_string_equal(round_trip(COPY_TYPED_INT8, PGBIN_INT8, "-9223372036854775808"), "-9223372036854775808");
	assert_string_equal(round_trip(COPY_TYPED_INT4, PGBIN_INT4, "+0042"), "42");
	assert_string_equal(round_trip(COPY_TYPED_INT2, PGBIN_INT2, "-32768"), "-32768");
	assert_string_equal(round_trip(COPY_TYPED_INT4, PGBIN_INT4, "\\N"), "\\N");
	assert_null(round_trip(COPY_TYPED_INT8, PGBIN_INT8, "9223372036854775808"));
	assert_null(round_trip(COPY_TYPED_INT2, PGBIN_INT2, "32768"));
	assert_null(round_trip(COPY_TYPED_INT4, PGBIN_INT4, " 42"));   /* int4in takes it; not plain */
	assert_null(round_trip(COPY_TYPED_INT4, PGBIN_INT4, "-"));
	assert_null(round_trip(COPY_TYPED_INT4, PGBIN_INT4, ""));
	assert_string_equal(round_trip(COPY_TYPED_BOOL, PGBIN_BOOL, "YES"), "t");
	assert_string_equal(round_trip(COPY_TYPED_BOOL, PGBIN_BOOL, "off"), "f");
	assert_string_equal(round_trip(COPY_TYPED_BOOL, PGBIN_BOOL, "0"), "f");
	assert_null(round_trip(COPY_TYPED_BOOL, PGBIN_BOOL, "tru"));  /* boolin takes prefixes; not here */
}

static void test_numeric(void **state)
{
	(void)state;
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "007.50"), "7.50");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "-0"), "0");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "-0.000"), "0.000");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, ".5"), "0.5");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "5."), "5");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "-.75"), "-0.75");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "100000000"), "100000000");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "0.00010000"), "0.00010000");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "12345678901234567890.12345678901234567890"),
			    "12345678901234567890.12345678901234567890");
	assert_string_equal(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "-99990000.0001"), "-99990000.0001");
	assert_null(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "1e3"));
	assert_null(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "."));
	assert_null(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "1.2.3"));
	assert_null(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "NaN"));
	assert_null(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, "1,5"));
	char many[1100];
	memset(many, '9', sizeof many - 1);
	many[sizeof many - 1] = 0;
	assert_null(round_trip(COPY_TYPED_NUMERIC, PGBIN_NUMERIC, many)); /* more digits than kept here */
}

static void test_dates_and_times(void **state)
{
	(void)state;
	assert_string_equal(round_trip(COPY_TYPED_DATE, PGBIN_DATE, "0001-01-01"), "0001-01-01");
	assert_string_equal(round_trip(COPY_TYPED_DATE, PGBIN_DATE, "9999-12-31"), "9999-12-31");
	assert_string_equal(round_trip(COPY_TYPED_DATE, PGBIN_DATE, "2000-02-29"), "2000-02-29");
	assert_null(round_trip(COPY_TYPED_DATE, PGBIN_DATE, "1900-02-29"));
	assert_null(round_trip(COPY_TYPED_DATE, PGBIN_DATE, "2024-04-31"));
	assert_null(round_trip(COPY_TYPED_DATE, PGBIN_DATE, "0000-01-01"));
	assert_null(round_trip(COPY_TYPED_DATE, PGBIN_DATE, "2024-1-2"));
	assert_string_equal(round_trip(COPY_TYPED_TIMESTAMP, PGBIN_TIMESTAMP, "2024-01-01T12:34"), "2024-01-01 12:34:00");
	assert_string_equal(round_trip(COPY_TYPED_TIMESTAMP, PGBIN_TIMESTAMP, "1999-12-31 23:59:59.5"),
			    "1999-12-31 23:59:59.5");
	assert_string_equal(round_trip(COPY_TYPED_TIMESTAMP, PGBIN_TIMESTAMP, "0001-01-01 00:00:00.000001"),
			    "0001-01-01 00:00:00.000001");
	assert_null(round_trip(COPY_TYPED_TIMESTAMP, PGBIN_TIMESTAMP, "2024-01-01 24:00"));
	assert_null(round_trip(COPY_TYPED_TIMESTAMP, PGBIN_TIMESTAMP, "2024-01-01 10:00:00.1234567"));
	assert_null(round_trip(COPY_TYPED_TIMESTAMP, PGBIN_TIMESTAMP, "2024-01-01 10:00:00+02"));
}

static void test_text(void **state)
{
	(void)state;
	assert_string_equal(round_trip(COPY_TYPED_TEXT, PGBIN_TEXT, "tab\\there\\\\ \\n ação"), "tab\\there\\\\ \\n ação");
	assert_string_equal(round_trip(COPY_TYPED_TEXT, PGBIN_TEXT, ""), "");
	assert_string_equal(round_trip(COPY_TYPED_TEXT, PGBIN_TEXT, "\\N"), "\\N");
	assert_null(round_trip(COPY_TYPED_TEXT, PGBIN_TEXT, "\\x41"));  /* an escape COPY's writers never make */
	assert_null(round_trip(COPY_TYPED_TEXT, PGBIN_TEXT, "\\000"));
	assert_null(round_trip(COPY_TYPED_TEXT, PGBIN_TEXT, "ends in \\"));
	assert_null(round_trip(COPY_TYPED_INT4, PGBIN_INT4, "4\\t2"));
}

static void test_kinds(void **state)
{
	(void)state;
	assert_int_equal(copy_typed_kind_of(1700, -1), COPY_TYPED_NUMERIC);
	assert_int_equal(copy_typed_kind_of(1700, (12 << 16 | 2) + 4), COPY_TYPED_NUMERIC);
	assert_int_equal(copy_typed_kind_of(1043, -1), COPY_TYPED_TEXT);
	assert_int_equal(copy_typed_kind_of(1043, 14), -1);   /* varchar(10) */
	assert_int_equal(copy_typed_kind_of(1184, -1), -1);   /* timestamptz */
	assert_int_equal(copy_typed_kind_of(701, -1), -1);    /* float8 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers_and_bool), cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_dates_and_times), cmocka_unit_test(test_text), cmocka_unit_test(test_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
