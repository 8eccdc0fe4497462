/* SQL Server values to LAND text (jobs/sources/sqlserver/format.c), from
 * db-lib's native layouts built here byte by byte: every digit of a
 * decimal(38), money's extremes, floats that read back exactly, the
 * calendar from 0001-01-01 to 9999-12-31 with 100 ns, datetimeoffset shown
 * in its own offset across a day boundary, GUIDs, binary, COPY escapes and
 * the refusals (NUL, unknown types, bad lengths). Then the connection
 * secret's URL (conn.c) and the options (options.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sybfront.h>
#include <sybdb.h>

#include "jobs/sources/sqlserver/conn.h"
#include "jobs/sources/sqlserver/format.h"
#include "jobs/sources/sqlserver/options.h"

static char text[4096];

/* The LAND text of one value, or NULL when the formatter refused it. */
static const char *fmt(int type, const void *data, size_t len)
{
	struct dynbuf b = {0};
	int rc = mssql_format(&b, type, data, len);
	snprintf(text, sizeof text, "%s", dynbuf_cstr(&b));
	dynbuf_free(&b);
	return rc == MSSQL_FMT_OK ? text : NULL;
}

static const char *numeric(int precision, int scale, bool negative, const char *hex_magnitude)
{
	DBNUMERIC n;
	memset(&n, 0, sizeof n);
	n.precision = (unsigned char)precision;
	n.scale = (unsigned char)scale;
	n.array[0] = negative ? 1 : 0;
	size_t len = strlen(hex_magnitude) / 2;
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		sscanf(hex_magnitude + 2 * i, "%2x", &v);
		n.array[1 + i] = (unsigned char)v;
	}
	return fmt(SYBNUMERIC, &n, sizeof n);
}

static void test_integers(void **state)
{
	unsigned char u8 = 255;
	int16_t i16 = -32768;
	int32_t i32 = -2147483647 - 1;
	int64_t i64 = INT64_MIN;
	assert_string_equal(fmt(SYBINT1, &u8, 1), "255");
	assert_string_equal(fmt(SYBINT2, &i16, 2), "-32768");
	assert_string_equal(fmt(SYBINT4, &i32, 4), "-2147483648");
	assert_string_equal(fmt(SYBINT8, &i64, 8), "-9223372036854775808");
	unsigned char bit = 1;
	assert_string_equal(fmt(SYBBIT, &bit, 1), "1");
	assert_null(fmt(SYBINT4, &i32, 2)); /* a wrong length is refused */
	assert_string_equal(fmt(SYBINT4, NULL, 0), "\\N");
}

static void test_decimals(void **state)
{
	/* 10^38 - 1 = 0x4B3B4CA85A86C47A098A223FFFFFFFFF: 38 nines */
	assert_string_equal(numeric(38, 0, false, "4B3B4CA85A86C47A098A223FFFFFFFFF"), "99999999999999999999999999999999999999");
	assert_string_equal(numeric(38, 0, true, "4B3B4CA85A86C47A098A223FFFFFFFFF"), "-99999999999999999999999999999999999999");
	/* decimal(36,10): 10^36 - 1 in 15 bytes */
	assert_string_equal(numeric(36, 10, true, "C097CE7BC90715B34B9F0FFFFFFFFF"), "-99999999999999999999999999.9999999999");
	assert_string_equal(numeric(5, 2, false, "000001"), "0.01");
	assert_string_equal(numeric(5, 2, false, "000000"), "0.00");
	assert_string_equal(numeric(5, 2, true, "000000"), "0.00"); /* no negative zero */
	assert_string_equal(numeric(12, 2, false, "00000004D2"), "12.34");
	DBMONEY m = {.mnyhigh = (DBINT)0x80000000u, .mnylow = 0};
	assert_string_equal(fmt(SYBMONEY, &m, 8), "-922337203685477.5808");
	m = (DBMONEY){.mnyhigh = 0x7fffffff, .mnylow = 0xffffffffu};
	assert_string_equal(fmt(SYBMONEY, &m, 8), "922337203685477.5807");
	int32_t small = -1;
	assert_string_equal(fmt(SYBMONEY4, &small, 4), "-0.0001");
}

static void test_floats(void **state)
{
	double d = 0.1;
	assert_string_equal(fmt(SYBFLT8, &d, 8), "0.1");
	d = 1.7976931348623157e308;
	assert_string_equal(fmt(SYBFLT8, &d, 8), "1.7976931348623157e+308");
	d = 2.2250738585072014e-308;
	assert_string_equal(fmt(SYBFLT8, &d, 8), "2.2250738585072014e-308");
	float f = 3.4028235e38f;
	assert_string_equal(fmt(SYBREAL, &f, 4), "3.4028235e+38");
	f = 0.1f;
	assert_string_equal(fmt(SYBREAL, &f, 4), "0.1");
}

static DBDATETIMEALL dta(long long days, unsigned long long ticks, int offset, int which)
{
	DBDATETIMEALL d;
	memset(&d, 0, sizeof d);
	d.date = (DBINT)days;
	d.time = ticks;
	d.offset = (DBSMALLINT)offset;
	d.time_prec = 7;
	d.has_date = which != SYBMSTIME;
	d.has_time = which != SYBMSDATE;
	d.has_offset = which == SYBMSDATETIMEOFFSET;
	return d;
}

static void test_dates(void **state)
{
	DBDATETIMEALL d = dta(-693595, 0, 0, SYBMSDATE);
	assert_string_equal(fmt(SYBMSDATE, &d, sizeof d), "0001-01-01");
	d = dta(2958463, 863999999999ULL, 0, SYBMSDATETIME2);
	assert_string_equal(fmt(SYBMSDATETIME2, &d, sizeof d), "9999-12-31T23:59:59.9999999");
	d = dta(0, 1, 0, SYBMSTIME);
	assert_string_equal(fmt(SYBMSTIME, &d, sizeof d), "00:00:00.0000001");
	d = dta(36583, 0, 0, SYBMSDATE); /* 2000-02-29 */
	assert_string_equal(fmt(SYBMSDATE, &d, sizeof d), "2000-02-29");
	/* UTC 2026-12-01 01:30 at -03:00 is 2026-11-30 22:30 local */
	d = dta(46355, 54000000000ULL, -180, SYBMSDATETIMEOFFSET);
	assert_string_equal(fmt(SYBMSDATETIMEOFFSET, &d, sizeof d), "2026-11-30T22:30:00.0000000-03:00");
	d = dta(46355, 863999999999ULL, 345, SYBMSDATETIMEOFFSET); /* +05:45 into the next day */
	assert_string_equal(fmt(SYBMSDATETIMEOFFSET, &d, sizeof d), "2026-12-02T05:44:59.9999999+05:45");
	DBDATETIME dt = {.dtdays = -53690, .dttime = 0};
	assert_string_equal(fmt(SYBDATETIME, &dt, 8), "1753-01-01T00:00:00.0000000");
	dt = (DBDATETIME){.dtdays = 2958463, .dttime = 25919999}; /* 23:59:59.997 */
	assert_string_equal(fmt(SYBDATETIME, &dt, 8), "9999-12-31T23:59:59.9966667");
	DBDATETIME4 sd = {.days = 65535, .minutes = 1439};
	assert_string_equal(fmt(SYBDATETIME4, &sd, 4), "2079-06-06T23:59:00.0000000");
	d = dta(0, 864000000000ULL, 0, SYBMSDATETIME2);
	assert_null(fmt(SYBMSDATETIME2, &d, sizeof d)); /* a time past midnight is refused */
}

static void test_guid_binary_text(void **state)
{
	const unsigned char g[16] = {0xff, 0x19, 0x96, 0x6f, 0x86, 0x8b, 0x11, 0xd0, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff};
	assert_string_equal(fmt(MSSQL_TYPE_GUID, g, 16), "6F9619FF-8B86-D011-B42D-00C04FC964FF");
	const unsigned char bin[3] = {0x00, 0x01, 0xff};
	assert_string_equal(fmt(SYBBINARY, bin, 3), "\\\\x0001ff");
	assert_string_equal(fmt(SYBBINARY, bin, 0), "\\\\x");
	const char *t = "a\tb\\c\nd\re 😀";
	assert_string_equal(fmt(SYBCHAR, t, strlen(t)), "a\\tb\\\\c\\nd\\re 😀");
	assert_string_equal(fmt(SYBTEXT, "", 0), "");
	assert_null(fmt(SYBCHAR, "a\0b", 3));
	assert_null(fmt(9999, "x", 1));
}

static void test_url(void **state)
{
	struct mssql_url u;
	char err[300];
	assert_int_equal(mssql_url_parse("sqlserver://sa:p%40ss%3Aw%2Fd@db.example.com:14330/market%20place?packet_size=4096&login_timeout=5",
					 &u, err, sizeof err), 0);
	assert_string_equal(u.user, "sa");
	assert_string_equal(u.password, "p@ss:w/d");
	assert_string_equal(u.host, "db.example.com");
	assert_int_equal(u.port, 14330);
	assert_string_equal(u.database, "market place");
	assert_int_equal(u.packet_size, 4096);
	assert_int_equal(u.login_timeout, 5);
	assert_int_equal(u.query_timeout, -1);
	mssql_url_free(&u);
	assert_int_equal(mssql_url_parse("sqlserver://u:pw@127.0.0.1/marketplace", &u, err, sizeof err), 0);
	assert_int_equal(u.port, 1433);
	mssql_url_free(&u);
	static const char *const bad[] = {
		"postgresql://u:Pw0rd9x@h/db", "sqlserver://u@h/db", "sqlserver://u:Pw0rd9x@h", "sqlserver://u:Pw0rd9x@h:0/db",
		"sqlserver://u:Pw0rd9x@h/db?packet_size=100", "sqlserver://u:Pw0rd9x@h/db?color=red", "sqlserver://u:Pw0%zz@h/db",
		"sqlserver://u:Pw0rd9x@h;x/db", "sqlserver://u:Pw0rd9x@:1433/db", NULL,
	};
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(mssql_url_parse(bad[i], &u, err, sizeof err), -1);
		assert_null(strstr(err, "Pw0")); /* no part of it in the message */
		assert_non_null(strstr(err, "sqlserver://user:password@host:port/database"));
	}
}

static void test_options(void **state)
{
	char field[64], msg[200];
	json_t *s = json_pack("{s:{s:i, s:s}}", "options", "packet_size", 32767, "on_ct_expired", "reload");
	assert_int_equal(mssql_options_validate(s, field, sizeof field, msg, sizeof msg), 0);
	json_object_set_new(json_object_get(s, "options"), "packet_size", json_integer(40000));
	assert_int_equal(mssql_options_validate(s, field, sizeof field, msg, sizeof msg), -1);
	assert_string_equal(field, "options.packet_size");
	json_object_set_new(json_object_get(s, "options"), "packet_size", json_integer(4096));
	json_object_set_new(json_object_get(s, "options"), "on_ct_expired", json_string("ignore"));
	assert_int_equal(mssql_options_validate(s, field, sizeof field, msg, sizeof msg), -1);
	assert_string_equal(field, "options.on_ct_expired");
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers), cmocka_unit_test(test_decimals), cmocka_unit_test(test_floats),
		cmocka_unit_test(test_dates), cmocka_unit_test(test_guid_binary_text), cmocka_unit_test(test_url),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
