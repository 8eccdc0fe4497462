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

static char *put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

/* The most text a field can become, or 0 when its bytes cannot be a value
 * of its type. Numerics are checked whole here (digits, sign, lengths). */
static size_t field_bound(int type, const unsigned char *p, size_t len)
{
	static const size_t fixed[] = {[PGBIN_BOOL] = 1, [PGBIN_INT2] = 2, [PGBIN_INT4] = 4, [PGBIN_INT8] = 8,
				       [PGBIN_DATE] = 4, [PGBIN_TIMESTAMP] = 8, [PGBIN_TIMESTAMPTZ] = 8,
				       [PGBIN_UUID] = 16};
	if (type < 0 || type > PGBIN_UUID || (fixed[type] && len != fixed[type]))
		return 0;
	switch (type) {
	case PGBIN_BOOL:
		return p[0] <= 1;
	case PGBIN_INT2: case PGBIN_INT4: case PGBIN_INT8:
		return 20;
	case PGBIN_JSONB:
		return len >= 1 && p[0] == 1 ? 2 * len + 1 : 0;
	case PGBIN_TEXT:
		return 2 * len + 1;
	case PGBIN_DATE: case PGBIN_TIMESTAMP: case PGBIN_TIMESTAMPTZ:
		return 48;
	case PGBIN_UUID:
		return 36;
	default: /* numeric */
		if (len < 8)
			return 0;
		int ndigits = (int16_t)get16(p), weight = (int16_t)get16(p + 2);
		uint16_t sign = get16(p + 4), dscale = get16(p + 6);
		if (sign == 0xC000 || sign == 0xD000 || sign == 0xF000)
			return len == 8 ? 9 : 0;
		if ((sign != 0 && sign != 0x4000) || ndigits < 0 || len != 8 + 2 * (size_t)ndigits || dscale > 0x3FFF)
			return 0;
		for (int i = 0; i < ndigits; i++)
			if (get16(p + 8 + 2 * i) > 9999)
				return 0;
		return 2 + 4 * (size_t)(weight > 0 ? weight + 1 : 1) + 1 + dscale + 4;
	}
}

/* numeric_out: the integer part without leading zeros ("0" when there is
 * none), then exactly dscale fraction digits. */
static char *put_numeric(char *o, const unsigned char *p)
{
	int ndigits = (int16_t)get16(p), weight = (int16_t)get16(p + 2);
	uint16_t sign = get16(p + 4), dscale = get16(p + 6);
	if (sign == 0xC000)
		return put(o, "NaN", 3);
	if (sign == 0xD000)
		return put(o, "Infinity", 8);
	if (sign == 0xF000)
		return put(o, "-Infinity", 9);
	const unsigned char *digits = p + 8;
	if (sign == 0x4000)
		*o++ = '-';
	if (weight < 0) {
		*o++ = '0';
	} else {
		for (int d = 0; d <= weight; d++) {
			unsigned dig = d < ndigits ? get16(digits + 2 * d) : 0;
			o = d == 0 ? copy_text_put_int(o, dig) : copy_text_fixed_digits(o, dig, 4);
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
	return o;
}

/* YYYY-MM-DD (at least four year digits), the caller adds " BC" */
static char *date_text(char *o, long long days1970, bool *bc)
{
	long long y;
	int m, d;
	copy_text_civil_from_days(days1970, &y, &m, &d);
	*bc = y <= 0;
	unsigned long long year = (unsigned long long)(y > 0 ? y : 1 - y);
	o = year > 9999 ? copy_text_put_int(o, (long long)year) : copy_text_fixed_digits(o, year, 4);
	*o++ = '-';
	o = copy_text_fixed_digits(o, (unsigned)m, 2);
	*o++ = '-';
	return copy_text_fixed_digits(o, (unsigned)d, 2);
}

static char *put_date(char *o, int32_t v)
{
	if (v == INT32_MIN)
		return put(o, "-infinity", 9);
	if (v == INT32_MAX)
		return put(o, "infinity", 8);
	bool bc;
	o = date_text(o, v + EPOCH_2000_DAYS, &bc);
	return bc ? put(o, " BC", 3) : o;
}

/* YYYY-MM-DD HH:MM:SS[.ffffff, trailing zeros cut][+00][ BC] */
static char *put_timestamp(char *o, int64_t v, bool tz)
{
	if (v == INT64_MIN)
		return put(o, "-infinity", 9);
	if (v == INT64_MAX)
		return put(o, "infinity", 8);
	long long days = v / USECS_PER_DAY, usec = v % USECS_PER_DAY;
	if (usec < 0) {
		usec += USECS_PER_DAY;
		days--;
	}
	bool bc;
	o = date_text(o, days + EPOCH_2000_DAYS, &bc);
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
	return bc ? put(o, " BC", 3) : o;
}

static char *put_uuid(char *o, const unsigned char *u)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[u[i] >> 4];
		*o++ = hex[u[i] & 15];
	}
	return o;
}

/* Writes one field checked by field_bound; NULL when text holds a NUL. */
static char *put_field(char *o, int type, const unsigned char *p, size_t len)
{
	switch (type) {
	case PGBIN_BOOL:
		*o++ = p[0] ? 't' : 'f';
		return o;
	case PGBIN_INT2:
		return copy_text_put_int(o, (int16_t)get16(p));
	case PGBIN_INT4:
		return copy_text_put_int(o, (int32_t)get32(p));
	case PGBIN_INT8:
		return copy_text_put_int(o, (int64_t)get64(p));
	case PGBIN_JSONB:
		p++, len--;
		/* fall through */
	case PGBIN_TEXT:
		return copy_text_put_field(o, p, len);
	case PGBIN_NUMERIC:
		return put_numeric(o, p);
	case PGBIN_DATE:
		return put_date(o, (int32_t)get32(p));
	case PGBIN_TIMESTAMP:
	case PGBIN_TIMESTAMPTZ:
		return put_timestamp(o, (int64_t)get64(p), type == PGBIN_TIMESTAMPTZ);
	default:
		return put_uuid(o, p);
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
	/* first the lengths and bounds, so the text is written in one go */
	size_t o = 2, most = (size_t)ncols;
	for (int i = 0; i < ncols; i++) {
		if (n - o < 4)
			return PGBIN_BAD;
		int32_t len = (int32_t)get32(p + o);
		o += 4;
		if (len == -1) {
			most += 2;
			continue;
		}
		if (len < 0 || (size_t)len > n - o)
			return PGBIN_BAD;
		size_t bound = field_bound(types[i], p + o, (size_t)len);
		if (bound == 0)
			return PGBIN_BAD;
		most += bound;
		o += (size_t)len;
	}
	*used = o;
	if (!dynbuf_reserve(out, most))
		return PGBIN_NOMEM;
	char *start = out->data + out->len, *w = start;
	o = 2;
	for (int i = 0; i < ncols; i++) {
		int32_t len = (int32_t)get32(p + o);
		o += 4;
		if (i > 0)
			*w++ = '\t';
		if (len == -1) {
			w = put(w, "\\N", 2);
			continue;
		}
		if (!(w = put_field(w, types[i], p + o, (size_t)len))) {
			out->data[out->len] = 0; /* the buffer as it was */
			return PGBIN_BAD;        /* a NUL in text: no PostgreSQL text has one */
		}
		o += (size_t)len;
	}
	out->len += (size_t)(w - start);
	out->data[out->len] = 0;
	return PGBIN_OK;
}
