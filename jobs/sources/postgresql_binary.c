/* Binary COPY to COPY text (see postgresql_binary.h). The layouts are
 * PostgreSQL's send functions', all big-endian: integers as such; numeric
 * as ndigits, weight, sign, dscale then base-10000 digits; date as days and
 * timestamps as microseconds from 2000-01-01, with the extremes of their
 * range meaning -infinity and infinity; jsonb as a version byte (1) and
 * its text; uuid as 16 bytes; every text type as its bytes. */
#include "jobs/sources/postgresql_binary.h"
#include "jobs/sources/copy_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define EPOCH_2000_DAYS 10957LL            /* 2000-01-01 is day 10957 of 1970 */
#define USECS_PER_DAY 86400000000LL

int pgbin_type_of_oid(unsigned oid)
{
	switch (oid) {
	case 16: return PGBIN_BOOL;
	case 21: return PGBIN_INT2;
	case 23: return PGBIN_INT4;
	case 20: return PGBIN_INT8;
	case 25: case 1043: case 1042: case 114: return PGBIN_TEXT; /* text, varchar, char(n), json */
	case 3802: return PGBIN_JSONB;
	case 1700: return PGBIN_NUMERIC;
	case 1082: return PGBIN_DATE;
	case 1114: return PGBIN_TIMESTAMP;
	case 1184: return PGBIN_TIMESTAMPTZ;
	case 2950: return PGBIN_UUID;
	default: return -1;
	}
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

long pgbin_header_len(const unsigned char *p, size_t n)
{
	static const unsigned char signature[11] = "PGCOPY\n\377\r\n";
	if (n < 19 || memcmp(p, signature, 11) != 0)
		return PGBIN_BAD;
	uint32_t ext = get32(p + 15);
	if (ext > n - 19)
		return PGBIN_BAD;
	return (long)(19 + ext);
}

static int add(struct dynbuf *out, const char *s, size_t n)
{
	return dynbuf_add(out, s, n) ? PGBIN_OK : PGBIN_NOMEM;
}

static char *put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

/* numeric_out: the integer part without leading zeros ("0" when there is
 * none), then exactly dscale fraction digits. */
static int add_numeric(struct dynbuf *out, const unsigned char *p, size_t len)
{
	if (len < 8)
		return PGBIN_BAD;
	int ndigits = (int16_t)get16(p), weight = (int16_t)get16(p + 2);
	uint16_t sign = get16(p + 4), dscale = get16(p + 6);
	if (sign == 0xC000)
		return add(out, "NaN", 3);
	if (sign == 0xD000)
		return add(out, "Infinity", 8);
	if (sign == 0xF000)
		return add(out, "-Infinity", 9);
	if ((sign != 0 && sign != 0x4000) || ndigits < 0 || len != 8 + 2 * (size_t)ndigits || dscale > 0x3FFF)
		return PGBIN_BAD;
	const unsigned char *digits = p + 8;
	for (int i = 0; i < ndigits; i++)
		if (get16(digits + 2 * i) > 9999)
			return PGBIN_BAD;
	size_t most = 2 + 4 * (size_t)(weight > 0 ? weight + 1 : 1) + 1 + dscale + 4;
	if (!dynbuf_reserve(out, most))
		return PGBIN_NOMEM;
	char *start = out->data + out->len, *o = start;
	if (sign == 0x4000)
		*o++ = '-';
	if (weight < 0) {
		*o++ = '0';
	} else {
		for (int d = 0; d <= weight; d++) {
			unsigned dig = d < ndigits ? get16(digits + 2 * d) : 0;
			if (d == 0) {
				char buf[8], *end = buf + sizeof buf, *b = copy_text_digits_before(end, dig);
				o = put(o, b, (size_t)(end - b));
			} else {
				o = copy_text_fixed_digits(o, dig, 4);
			}
		}
	}
	if (dscale > 0) {
		*o++ = '.';
		char *frac = o;
		for (int i = 0, d = weight + 1; i < dscale; i += 4, d++) {
			unsigned dig = d >= 0 && d < ndigits ? get16(digits + 2 * d) : 0;
			o = copy_text_fixed_digits(o, dig, 4);
		}
		o = frac + dscale;
	}
	out->len += (size_t)(o - start);
	out->data[out->len] = 0;
	return PGBIN_OK;
}

/* YYYY-MM-DD (at least four year digits), the caller adds " BC" */
static char *date_text(char *o, long long days1970, bool *bc)
{
	long long y;
	int m, d;
	copy_text_civil_from_days(days1970, &y, &m, &d);
	*bc = y <= 0;
	unsigned long long year = (unsigned long long)(y > 0 ? y : 1 - y);
	if (year > 9999) {
		char buf[24], *end = buf + sizeof buf, *b = copy_text_digits_before(end, year);
		o = put(o, b, (size_t)(end - b));
	} else {
		o = copy_text_fixed_digits(o, year, 4);
	}
	*o++ = '-';
	o = copy_text_fixed_digits(o, (unsigned)m, 2);
	*o++ = '-';
	return copy_text_fixed_digits(o, (unsigned)d, 2);
}

static int add_date(struct dynbuf *out, int32_t v)
{
	if (v == INT32_MIN)
		return add(out, "-infinity", 9);
	if (v == INT32_MAX)
		return add(out, "infinity", 8);
	char text[40], *o;
	bool bc;
	o = date_text(text, v + EPOCH_2000_DAYS, &bc);
	if (bc)
		o = put(o, " BC", 3);
	return add(out, text, (size_t)(o - text));
}

/* YYYY-MM-DD HH:MM:SS[.ffffff, trailing zeros cut][+00][ BC] */
static int add_timestamp(struct dynbuf *out, int64_t v, bool tz)
{
	if (v == INT64_MIN)
		return add(out, "-infinity", 9);
	if (v == INT64_MAX)
		return add(out, "infinity", 8);
	long long days = v / USECS_PER_DAY, usec = v % USECS_PER_DAY;
	if (usec < 0) {
		usec += USECS_PER_DAY;
		days--;
	}
	char text[64], *o;
	bool bc;
	o = date_text(text, days + EPOCH_2000_DAYS, &bc);
	long long secs = usec / 1000000, frac = usec % 1000000;
	*o++ = ' ';
	o = copy_text_fixed_digits(o, (unsigned long long)(secs / 3600), 2);
	*o++ = ':';
	o = copy_text_fixed_digits(o, (unsigned long long)(secs / 60 % 60), 2);
	*o++ = ':';
	o = copy_text_fixed_digits(o, (unsigned long long)(secs % 60), 2);
	if (frac) {
		*o++ = '.';
		o = copy_text_fixed_digits(o, (unsigned long long)frac, 6);
		while (o[-1] == '0')
			o--;
	}
	if (tz)
		o = put(o, "+00", 3);
	if (bc)
		o = put(o, " BC", 3);
	return add(out, text, (size_t)(o - text));
}

static int add_uuid(struct dynbuf *out, const unsigned char *u)
{
	static const char hex[] = "0123456789abcdef";
	char text[36];
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			text[o++] = '-';
		text[o++] = hex[u[i] >> 4];
		text[o++] = hex[u[i] & 15];
	}
	return add(out, text, sizeof text);
}

static int add_field(struct dynbuf *out, int type, const unsigned char *p, size_t len)
{
	static const size_t fixed[] = {[PGBIN_BOOL] = 1, [PGBIN_INT2] = 2, [PGBIN_INT4] = 4, [PGBIN_INT8] = 8,
				       [PGBIN_DATE] = 4, [PGBIN_TIMESTAMP] = 8, [PGBIN_TIMESTAMPTZ] = 8,
				       [PGBIN_UUID] = 16};
	if (type < 0 || type > PGBIN_UUID || (fixed[type] && len != fixed[type]))
		return PGBIN_BAD;
	int rc;
	switch (type) {
	case PGBIN_BOOL:
		return p[0] > 1 ? PGBIN_BAD : add(out, p[0] ? "t" : "f", 1);
	case PGBIN_INT2:
		return copy_text_add_int(out, (int16_t)get16(p)) ? PGBIN_OK : PGBIN_NOMEM;
	case PGBIN_INT4:
		return copy_text_add_int(out, (int32_t)get32(p)) ? PGBIN_OK : PGBIN_NOMEM;
	case PGBIN_INT8:
		return copy_text_add_int(out, (int64_t)get64(p)) ? PGBIN_OK : PGBIN_NOMEM;
	case PGBIN_JSONB:
		if (len < 1 || p[0] != 1)
			return PGBIN_BAD;
		p++, len--;
		/* fall through */
	case PGBIN_TEXT:
		rc = copy_text_add_field(out, p, len);
		return rc == COPY_TEXT_OK ? PGBIN_OK : rc == COPY_TEXT_NUL ? PGBIN_BAD : PGBIN_NOMEM;
	case PGBIN_NUMERIC:
		return add_numeric(out, p, len);
	case PGBIN_DATE:
		return add_date(out, (int32_t)get32(p));
	case PGBIN_TIMESTAMP:
	case PGBIN_TIMESTAMPTZ:
		return add_timestamp(out, (int64_t)get64(p), type == PGBIN_TIMESTAMPTZ);
	default:
		return add_uuid(out, p);
	}
}

int pgbin_tuple_text(struct dynbuf *out, const unsigned char *p, size_t n, const int *types, int ncols,
		     size_t *used, int *end)
{
	*end = 0;
	if (n < 2)
		return PGBIN_BAD;
	int fields = (int16_t)get16(p);
	if (fields == -1) {
		*used = 2;
		*end = 1;
		return PGBIN_OK;
	}
	if (fields != ncols)
		return PGBIN_BAD;
	size_t o = 2;
	for (int i = 0; i < ncols; i++) {
		if (n - o < 4)
			return PGBIN_BAD;
		int32_t len = (int32_t)get32(p + o);
		o += 4;
		if (i > 0 && !dynbuf_addc(out, '\t'))
			return PGBIN_NOMEM;
		if (len == -1) {
			if (!dynbuf_add(out, "\\N", 2))
				return PGBIN_NOMEM;
			continue;
		}
		if (len < 0 || (size_t)len > n - o)
			return PGBIN_BAD;
		int rc = add_field(out, types[i], p + o, (size_t)len);
		if (rc != PGBIN_OK)
			return rc;
		o += (size_t)len;
	}
	*used = o;
	return PGBIN_OK;
}
