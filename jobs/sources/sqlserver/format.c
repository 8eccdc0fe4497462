/* SQL Server values to LAND text (see format.h). The native layouts are
 * db-lib's: DBNUMERIC (precision, scale, a sign byte that is 1 when
 * negative, then the magnitude big-endian in as few bytes as the precision
 * needs), DBMONEY (high and low 32 bits of ten-thousandths), DBDATETIME
 * (days since 1900-01-01 and 1/300 s), DBDATETIME4 (days and minutes),
 * DBDATETIMEALL (100 ns since midnight, days since 1900-01-01, an offset in
 * minutes; a datetimeoffset's date and time are UTC, as on the wire), a
 * GUID as its struct (Data1..3 in host order), text already converted to
 * UTF-8 by FreeTDS (the client charset), binary as bytes.
 *
 * Text forms, chosen so that PostgreSQL casts them exactly into the default
 * TRUSTED types: decimals with all their scale digits, floats with the
 * fewest digits that read back to the same double, dates YYYY-MM-DD, times
 * HH:MM:SS.fffffff, date-times YYYY-MM-DDTHH:MM:SS.fffffff, datetimeoffset
 * in its own offset with +HH:MM, GUIDs upper case, binary as \x hex (bytea's
 * input form), bit as 1 or 0. */
#include "jobs/sources/sqlserver/format.h"
#include "jobs/sources/copy_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sybfront.h>
#include <sybdb.h>

#define TICKS_PER_DAY 864000000000LL /* 100 ns */

static int add(struct dynbuf *out, const char *s, size_t n)
{
	return dynbuf_add(out, s, n) ? MSSQL_FMT_OK : MSSQL_FMT_NOMEM;
}

static int addf(struct dynbuf *out, const char *text)
{
	return add(out, text, strlen(text));
}

static int add_int(struct dynbuf *out, long long v)
{
	return copy_text_add_int(out, v) ? MSSQL_FMT_OK : MSSQL_FMT_NOMEM;
}

static int add_text(struct dynbuf *out, const unsigned char *s, size_t n)
{
	int rc = copy_text_add_field(out, s, n);
	return rc == COPY_TEXT_OK ? MSSQL_FMT_OK : rc == COPY_TEXT_NUL ? MSSQL_FMT_NUL : MSSQL_FMT_NOMEM;
}

/* An unsigned 128-bit magnitude scaled by 10^scale, with its sign. */
static int add_scaled(struct dynbuf *out, bool negative, unsigned __int128 mag, int scale)
{
	char digits[48];
	int n = 0;
	while (mag > UINT64_MAX && n < 45) { /* 128-bit division only while it must */
		digits[n++] = (char)('0' + (int)(mag % 10));
		mag /= 10;
	}
	unsigned long long small = (unsigned long long)mag;
	do {
		digits[n++] = (char)('0' + (int)(small % 10));
		small /= 10;
	} while (small > 0 && n < 45);
	while (n <= scale)
		digits[n++] = '0'; /* at least one digit before the point */
	char text[52];
	size_t o = 0;
	if (negative)
		text[o++] = '-';
	for (int i = n - 1; i >= 0; i--) {
		text[o++] = digits[i];
		if (i == scale && scale > 0)
			text[o++] = '.';
	}
	return add(out, text, o);
}

/* Bytes of DBNUMERIC's magnitude for a precision: the fewest that hold
 * 10^precision - 1. */
static size_t numeric_bytes(int precision)
{
	unsigned __int128 max = 1;
	for (int i = 0; i < precision; i++)
		max *= 10;
	max -= 1;
	size_t n = 1;
	while (n < 16 && (max >> (8 * n)) != 0)
		n++;
	return n;
}

static int add_numeric(struct dynbuf *out, const unsigned char *data, size_t len)
{
	DBNUMERIC num;
	if (len < 3 || len > sizeof num)
		return MSSQL_FMT_BAD;
	memset(&num, 0, sizeof num);
	memcpy(&num, data, len);
	if (num.precision < 1 || num.precision > 38 || num.scale > num.precision)
		return MSSQL_FMT_BAD;
	size_t n = numeric_bytes(num.precision);
	if (2 + 1 + n > len)
		return MSSQL_FMT_BAD;
	unsigned __int128 mag = 0;
	for (size_t i = 0; i < n; i++)
		mag = (mag << 8) | num.array[1 + i];
	return add_scaled(out, num.array[0] == 1 && mag != 0, mag, num.scale);
}

static int add_money(struct dynbuf *out, long long v)
{
	unsigned __int128 mag = v < 0 ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
	return add_scaled(out, v < 0, mag, 4);
}

/* The shortest decimal form of d that reads back to the same double. */
static int add_double(struct dynbuf *out, double d)
{
	char text[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(text, sizeof text, "%.*g", prec, d);
		if (strtod(text, NULL) == d)
			break;
	}
	return addf(out, text);
}

static int add_real(struct dynbuf *out, float f)
{
	char text[40];
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(text, sizeof text, "%.*g", prec, (double)f);
		if (strtof(text, NULL) == f)
			break;
	}
	return addf(out, text);
}

void mssql_civil_from_days(long long days, int *y, int *m, int *d)
{
	long long year;
	copy_text_civil_from_days(days - 25567, &year, m, d); /* 1900-01-01 is day -25567 of 1970 */
	*y = (int)year;
}

/* YYYY-MM-DD (years 1 to 9999) */
static size_t date_text(char *buf, long long days)
{
	int y, m, d;
	mssql_civil_from_days(days, &y, &m, &d);
	char *p = copy_text_fixed_digits(buf, (unsigned)y, 4);
	*p++ = '-';
	p = copy_text_fixed_digits(p, (unsigned)m, 2);
	*p++ = '-';
	p = copy_text_fixed_digits(p, (unsigned)d, 2);
	return (size_t)(p - buf);
}

/* HH:MM:SS.fffffff of 0 <= ticks < one day */
static size_t time_text(char *buf, long long ticks)
{
	char *p = copy_text_fixed_digits(buf, (unsigned long long)(ticks / 36000000000LL), 2);
	*p++ = ':';
	p = copy_text_fixed_digits(p, (unsigned long long)(ticks / 600000000 % 60), 2);
	*p++ = ':';
	p = copy_text_fixed_digits(p, (unsigned long long)(ticks / 10000000 % 60), 2);
	*p++ = '.';
	p = copy_text_fixed_digits(p, (unsigned long long)(ticks % 10000000), 7);
	return (size_t)(p - buf);
}

/* date and/or time and/or offset; `ticks` < one day */
static int add_datetime(struct dynbuf *out, bool has_date, long long days, bool has_time, long long ticks,
			bool has_offset, int offset)
{
	char text[64];
	size_t o = 0;
	if (has_offset) { /* shown in its own offset: the wire holds UTC */
		ticks += (long long)offset * 600000000;
		while (ticks < 0) {
			ticks += TICKS_PER_DAY;
			days--;
		}
		while (ticks >= TICKS_PER_DAY) {
			ticks -= TICKS_PER_DAY;
			days++;
		}
	}
	if (has_date && (days < -693595 || days > 2958463))
		return MSSQL_FMT_BAD; /* outside 0001-01-01 .. 9999-12-31 */
	if (has_date)
		o += date_text(text + o, days);
	if (has_date && has_time)
		text[o++] = 'T';
	if (has_time)
		o += time_text(text + o, ticks);
	if (has_offset) {
		text[o++] = offset < 0 ? '-' : '+';
		char *p = copy_text_fixed_digits(text + o, (unsigned)abs(offset) / 60, 2);
		*p++ = ':';
		p = copy_text_fixed_digits(p, (unsigned)abs(offset) % 60, 2);
		o = (size_t)(p - text);
	}
	return add(out, text, o);
}

static int add_datetimeall(struct dynbuf *out, int type, const unsigned char *data, size_t len)
{
	DBDATETIMEALL dt;
	if (len != sizeof dt)
		return MSSQL_FMT_BAD;
	memcpy(&dt, data, sizeof dt);
	long long ticks = (long long)dt.time;
	if (ticks < 0 || ticks >= TICKS_PER_DAY)
		return MSSQL_FMT_BAD;
	switch (type) {
	case SYBMSDATE:
		return add_datetime(out, true, dt.date, false, 0, false, 0);
	case SYBMSTIME:
		return add_datetime(out, false, 0, true, ticks, false, 0);
	case SYBMSDATETIME2:
		return add_datetime(out, true, dt.date, true, ticks, false, 0);
	default:
		return add_datetime(out, true, dt.date, true, ticks, true, dt.offset);
	}
}

static int add_guid(struct dynbuf *out, const unsigned char *g, size_t len)
{
	if (len != 16)
		return MSSQL_FMT_BAD;
	uint32_t d1;
	uint16_t d2, d3;
	memcpy(&d1, g, 4);
	memcpy(&d2, g + 4, 2);
	memcpy(&d3, g + 6, 2);
	char text[40];
	snprintf(text, sizeof text, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", (unsigned)d1, (unsigned)d2,
		 (unsigned)d3, g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
	return addf(out, text);
}

/* bytea's hex input form, its backslash doubled for COPY: \\x0a1b... */
static int add_binary(struct dynbuf *out, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (!dynbuf_reserve(out, 3 + 2 * n))
		return MSSQL_FMT_NOMEM;
	char *p = out->data + out->len;
	*p++ = '\\';
	*p++ = '\\';
	*p++ = 'x';
	for (size_t i = 0; i < n; i++) {
		*p++ = hex[s[i] >> 4];
		*p++ = hex[s[i] & 15];
	}
	out->len += 3 + 2 * n;
	out->data[out->len] = 0;
	return MSSQL_FMT_OK;
}

static bool fixed_len(int type, size_t len)
{
	switch (type) {
	case SYBINT1: case SYBBIT: return len == 1;
	case SYBINT2: return len == 2;
	case SYBINT4: case SYBREAL: case SYBMONEY4: case SYBDATETIME4: return len == 4;
	case SYBINT8: case SYBFLT8: case SYBMONEY: case SYBDATETIME: return len == 8;
	default: return true;
	}
}

int mssql_format(struct dynbuf *out, int type, const unsigned char *data, size_t len)
{
	if (!data)
		return add(out, "\\N", 2);
	if (!fixed_len(type, len))
		return MSSQL_FMT_BAD;
	switch (type) {
	case SYBINT1: /* tinyint: 0 to 255 */
		return add_int(out, data[0]);
	case SYBBIT:
		return addf(out, data[0] ? "1" : "0");
	case SYBINT2: {
		int16_t v;
		memcpy(&v, data, 2);
		return add_int(out, v);
	}
	case SYBINT4: {
		int32_t v;
		memcpy(&v, data, 4);
		return add_int(out, v);
	}
	case SYBINT8: {
		int64_t v;
		memcpy(&v, data, 8);
		return add_int(out, v);
	}
	case SYBDECIMAL:
	case SYBNUMERIC:
		return add_numeric(out, data, len);
	case SYBMONEY: {
		DBMONEY m;
		memcpy(&m, data, 8);
		return add_money(out, (long long)(((uint64_t)(uint32_t)m.mnyhigh << 32) | m.mnylow));
	}
	case SYBMONEY4: {
		int32_t v;
		memcpy(&v, data, 4);
		return add_money(out, v);
	}
	case SYBFLT8: {
		double d;
		memcpy(&d, data, 8);
		return add_double(out, d);
	}
	case SYBREAL: {
		float f;
		memcpy(&f, data, 4);
		return add_real(out, f);
	}
	case SYBDATETIME: { /* 1/300 s, to 100 ns as SQL Server converts it to datetime2 */
		DBDATETIME dt;
		memcpy(&dt, data, 8);
		long long ticks = ((long long)(uint32_t)dt.dttime * 100000 + 1) / 3;
		return add_datetime(out, true, dt.dtdays, true, ticks, false, 0);
	}
	case SYBDATETIME4: {
		DBDATETIME4 dt;
		memcpy(&dt, data, 4);
		return add_datetime(out, true, dt.days, true, (long long)dt.minutes * 600000000, false, 0);
	}
	case SYBMSDATE:
	case SYBMSTIME:
	case SYBMSDATETIME2:
	case SYBMSDATETIMEOFFSET:
		return add_datetimeall(out, type, data, len);
	case MSSQL_TYPE_GUID:
		return add_guid(out, data, len);
	case SYBBINARY:
	case SYBVARBINARY:
	case SYBIMAGE:
		return add_binary(out, data, len);
	case SYBCHAR:
	case SYBVARCHAR:
	case SYBTEXT:
	case SYBNTEXT:
	case SYBNVARCHAR:
		return add_text(out, data, len);
	default:
		return MSSQL_FMT_UNKNOWN;
	}
}
