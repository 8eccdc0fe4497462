/* COPY text to binary COPY fields (see copy_typed.h). The layouts are
 * PostgreSQL's receive functions', all big-endian: integers as such; numeric
 * as ndigits, weight, sign, dscale then base-10000 digits; date as days and
 * timestamp as microseconds from 2000-01-01; bool as one byte; text as its
 * bytes. Every parser below accepts a subset of what the type's input
 * function accepts, and gives the same value for it. */
#include "jobs/sources/copy_typed.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define MAX_NUMERIC_DIGITS 1000           /* more goes the cast's way */
#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000

int copy_typed_kind_of(unsigned oid, int typmod)
{
	switch (oid) {
	case 16: return COPY_TYPED_BOOL;
	case 21: return COPY_TYPED_INT2;
	case 23: return COPY_TYPED_INT4;
	case 20: return COPY_TYPED_INT8;
	case 1700: return COPY_TYPED_NUMERIC;
	case 1082: return COPY_TYPED_DATE;
	case 1114: return typmod < 0 ? COPY_TYPED_TIMESTAMP : -1; /* timestamp(p) rounds */
	case 25: return COPY_TYPED_TEXT;
	case 1043: return typmod < 0 ? COPY_TYPED_TEXT : -1;       /* varchar without a length */
	default: return -1;
	}
}

static char *put16(char *o, uint16_t v)
{
	o[0] = (char)(v >> 8);
	o[1] = (char)v;
	return o + 2;
}

static char *put32(char *o, uint32_t v)
{
	o = put16(o, (uint16_t)(v >> 16));
	return put16(o, (uint16_t)v);
}

static char *put64(char *o, uint64_t v)
{
	o = put32(o, (uint32_t)(v >> 32));
	return put32(o, (uint32_t)v);
}

int copy_typed_add_header(struct dynbuf *out)
{
	static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0";
	return dynbuf_add(out, header, sizeof header) ? COPY_TYPED_OK : COPY_TYPED_NOMEM;
}

int copy_typed_add_trailer(struct dynbuf *out)
{
	return copy_typed_add_count(out, -1);
}

int copy_typed_add_count(struct dynbuf *out, int fields)
{
	if (!dynbuf_reserve(out, 2))
		return COPY_TYPED_NOMEM;
	put16(out->data + out->len, (uint16_t)fields);
	out->len += 2;
	return COPY_TYPED_OK;
}

int copy_typed_add_int8(struct dynbuf *out, long long v)
{
	if (!dynbuf_reserve(out, 12))
		return COPY_TYPED_NOMEM;
	char *o = put32(out->data + out->len, 8);
	put64(o, (uint64_t)v);
	out->len += 12;
	return COPY_TYPED_OK;
}

/* [+-]?[0-9]+ within [lo, hi]. */
static bool parse_int(const char *s, size_t n, long long lo, long long hi, long long *v)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n)
		return false;
	/* accumulated negative: INT64_MIN has no positive twin */
	long long acc = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		int d = s[i] - '0';
		if (acc < (INT64_MIN + d) / 10)
			return false;
		acc = acc * 10 - d;
	}
	if (!neg) {
		if (acc == INT64_MIN)
			return false;
		acc = -acc;
	}
	if (acc < lo || acc > hi)
		return false;
	*v = acc;
	return true;
}

/* boolin's spellings, whole words only: t, true, y, yes, on, 1 and their
 * opposites, any case. */
static int parse_bool(const char *s, size_t n)
{
	static const char *const yes[] = {"t", "true", "y", "yes", "on", "1"};
	static const char *const no[] = {"f", "false", "n", "no", "off", "0"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0)
			return 1;
		if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0)
			return 0;
	}
	return -1;
}

/* Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static long long days_from_civil(long long y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* YYYY-MM-DD, year 1 to 9999: days from 2000-01-01. */
static bool parse_date(const char *s, size_t n, long long *days)
{
	static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;
	if (n != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
	    !digits(s + 8, 2, &d) || y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > month_days[m - 1] + (m == 2 && leap))
		return false;
	*days = days_from_civil(y, m, d) - days_from_civil(2000, 1, 1);
	return true;
}

/* YYYY-MM-DD[ T]HH:MM[:SS[.f{1,6}]]: microseconds from 2000-01-01. */
static bool parse_timestamp(const char *s, size_t n, long long *usecs)
{
	long long days;
	int h, mi, sec = 0, frac = 0;
	if (n < 16 || (s[10] != ' ' && s[10] != 'T') || !parse_date(s, 10, &days) || s[13] != ':' ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || h > 23 || mi > 59)
		return false;
	size_t i = 16;
	if (i < n) {
		if (s[i] != ':' || n < i + 3 || !digits(s + i + 1, 2, &sec) || sec > 59)
			return false;
		i += 3;
	}
	if (i < n) {
		size_t k = n - i - 1; /* fraction digits */
		if (s[i] != '.' || k < 1 || k > 6 || !digits(s + i + 1, (int)k, &frac))
			return false;
		for (; k < 6; k++)
			frac *= 10;
	}
	*usecs = ((days * 86400 + h * 3600LL + mi * 60LL + sec) * 1000000LL) + frac;
	return true;
}

/* [+-]?digits[.digits] (a point with digits on either side) as numeric's
 * binary fields at o (room for 8 + 2 * (n / 4 + 2) bytes); returns the
 * end, or NULL. */
static char *put_numeric(char *o, const char *s, size_t n)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	const char *int_part = s + i;
	size_t int_len = 0, frac_len = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, int_len++;
	const char *frac_part = s + i + 1;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, frac_len++;
	}
	if (i != n || int_len + frac_len == 0)
		return NULL;
	while (int_len > 0 && *int_part == '0')
		int_part++, int_len--;
	if (int_len + frac_len > MAX_NUMERIC_DIGITS)
		return NULL;

	/* base-10000 digits, grouped from the point: the integer part padded
	 * on the left, the fraction on the right */
	uint16_t d[MAX_NUMERIC_DIGITS / 4 + 3];
	int nd = 0;
	int weight = int_len ? (int)((int_len + 3) / 4) - 1 : -1;
	for (size_t k = 0, take = int_len % 4 ? int_len % 4 : 4; k < int_len; take = 4) {
		int v = 0;
		for (size_t j = 0; j < take; j++)
			v = v * 10 + (int_part[k++] - '0');
		d[nd++] = (uint16_t)v;
	}
	for (size_t k = 0; k < frac_len;) {
		int v = 0;
		for (int j = 0; j < 4; j++)
			v = v * 10 + (k < frac_len ? frac_part[k++] - '0' : 0);
		d[nd++] = (uint16_t)v;
	}
	int first = 0;
	while (first < nd && d[first] == 0)
		first++, weight--;
	while (nd > first && d[nd - 1] == 0)
		nd--;
	if (first == nd) { /* zero: positive, as numeric_in leaves it */
		first = nd = 0;
		weight = 0;
		neg = false;
	}
	o = put32(o, (uint32_t)(8 + 2 * (nd - first)));
	o = put16(o, (uint16_t)(nd - first));
	o = put16(o, (uint16_t)(int16_t)weight);
	o = put16(o, neg ? NUMERIC_NEG : NUMERIC_POS);
	o = put16(o, (uint16_t)frac_len);
	for (int k = first; k < nd; k++)
		o = put16(o, d[k]);
	return o;
}

/* COPY text's escapes, undone into o (room for n bytes); returns the end,
 * or NULL for an escape COPY's text writers never make (octal, hex: they
 * could spell a NUL or bytes of another encoding). */
static char *unescape(char *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (++i == n)
			return NULL;
		switch (s[i]) {
		case '\\': *o++ = '\\'; break;
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'v': *o++ = '\v'; break;
		default: return NULL;
		}
	}
	return o;
}

int copy_typed_add(struct dynbuf *out, enum copy_typed_kind kind, const char *s, size_t n)
{
	if (!dynbuf_reserve(out, 16 + n + 2 * (n / 4 + 2)))
		return COPY_TYPED_NOMEM;
	char *start = out->data + out->len, *o = start;
	if (n == 2 && s[0] == '\\' && s[1] == 'N') {
		put32(o, UINT32_MAX); /* -1: NULL */
		out->len += 4;
		return COPY_TYPED_OK;
	}
	if (kind != COPY_TYPED_TEXT && memchr(s, '\\', n))
		return COPY_TYPED_NO;
	long long v;
	int b;
	switch (kind) {
	case COPY_TYPED_BOOL:
		if ((b = parse_bool(s, n)) < 0)
			return COPY_TYPED_NO;
		o = put32(o, 1);
		*o++ = (char)b;
		break;
	case COPY_TYPED_INT2:
		if (!parse_int(s, n, INT16_MIN, INT16_MAX, &v))
			return COPY_TYPED_NO;
		o = put16(put32(o, 2), (uint16_t)v);
		break;
	case COPY_TYPED_INT4:
		if (!parse_int(s, n, INT32_MIN, INT32_MAX, &v))
			return COPY_TYPED_NO;
		o = put32(put32(o, 4), (uint32_t)v);
		break;
	case COPY_TYPED_INT8:
		if (!parse_int(s, n, INT64_MIN, INT64_MAX, &v))
			return COPY_TYPED_NO;
		o = put64(put32(o, 8), (uint64_t)v);
		break;
	case COPY_TYPED_NUMERIC:
		if (!(o = put_numeric(o, s, n)))
			return COPY_TYPED_NO;
		break;
	case COPY_TYPED_DATE:
		if (!parse_date(s, n, &v))
			return COPY_TYPED_NO;
		o = put32(put32(o, 4), (uint32_t)v);
		break;
	case COPY_TYPED_TIMESTAMP:
		if (!parse_timestamp(s, n, &v))
			return COPY_TYPED_NO;
		o = put64(put32(o, 8), (uint64_t)v);
		break;
	case COPY_TYPED_TEXT: {
		char *end = unescape(o + 4, s, n);
		if (!end || memchr(o + 4, 0, (size_t)(end - (o + 4))))
			return COPY_TYPED_NO;
		put32(o, (uint32_t)(end - (o + 4)));
		o = end;
		break;
	}
	default:
		return COPY_TYPED_NO;
	}
	out->len += (size_t)(o - start);
	return COPY_TYPED_OK;
}
