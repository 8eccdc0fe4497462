/* The value-level work of the CSV converter (csv_copy.c): UTF-8 checks,
 * COPY text escaping, decimal commas and date formats rewritten to what
 * PostgreSQL reads. */
#include "jobs/sources/sftp/csv_values.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* --- UTF-8 and COPY text --------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (0 if invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
			return 0; /* overlong, above U+10FFFF */
		return 4;
	}
	return 0;
}

/* true when none of the 8 bytes in x needs a look: each is printable
 * ASCII (0x20..0x7F) and not a backslash. */
static bool plain8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t control = (x - 0x20 * ones) & ~x & highs; /* a byte below 0x20 */
	uint64_t y = x ^ ('\\' * ones);
	uint64_t backslash = (y - ones) & ~y & highs;
	return ((x & highs) | control | backslash) == 0;
}

/* Writes s as a COPY text value at out, which has room for 2 * n bytes;
 * returns the bytes written. Stops at the first byte that is not UTF-8, or
 * NUL: *bad is its index, else -1. Runs of plain ASCII go 8 bytes at a time. */
size_t csv_put_copy_text(char *out, const char *str, size_t n, long *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, o = 0;
	*bad = -1;
	while (i < n) {
		for (; i + 8 <= n; i += 8, o += 8) {
			uint64_t x;
			memcpy(&x, s + i, 8);
			if (!plain8(x))
				break;
			memcpy(out + o, &x, 8);
		}
		if (i >= n)
			break;
		unsigned char ch = s[i];
		if (ch >= 0x20 && ch < 0x80 && ch != '\\') {
			out[o++] = (char)ch;
			i++;
			continue;
		}
		size_t k = ch == 0 ? 0 : utf8_len(s + i, n - i);
		if (k == 0) {
			*bad = (long)i;
			return o;
		}
		if (k > 1) {
			memcpy(out + o, s + i, k);
			o += k, i += k;
			continue;
		}
		const char *esc = ch == '\\' ? "\\\\" : ch == '\t' ? "\\t" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : NULL;
		if (esc) {
			out[o++] = esc[0];
			out[o++] = esc[1];
		} else {
			out[o++] = (char)ch;
		}
		i++;
	}
	return o;
}

/* Appends s as a COPY text value. With `lenient`, bytes that are not UTF-8
 * (and NUL) are written as the four characters \xNN; otherwise the first
 * such byte stops it: returns its index, or -1 when all went in. -2 = no memory. */
long csv_add_copy_text(struct dynbuf *b, const char *str, size_t n, bool lenient)
{
	const unsigned char *s = (const unsigned char *)str;
	if (!dynbuf_reserve(b, n * 2 + 16))
		return -2;
	size_t i = 0;
	while (i < n) {
		unsigned char ch = s[i];
		if (ch >= 0x20 && ch < 0x80 && ch != '\\') {
			b->data[b->len++] = (char)ch;
			i++;
			continue;
		}
		size_t k = ch == 0 ? 0 : utf8_len(s + i, n - i);
		if (k == 0) {
			if (!lenient)
				return (long)i;
			char hex[8];
			snprintf(hex, sizeof hex, "\\\\x%02X", ch);
			if (!dynbuf_add(b, hex, 5) || !dynbuf_reserve(b, (n - i) * 2 + 16))
				return -2;
			i++;
			continue;
		}
		if (k > 1) {
			memcpy(b->data + b->len, s + i, k);
			b->len += k;
			i += k;
			continue;
		}
		const char *esc = ch == '\\' ? "\\\\" : ch == '\t' ? "\\t" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : NULL;
		if (esc) {
			b->data[b->len++] = esc[0];
			b->data[b->len++] = esc[1];
		} else {
			b->data[b->len++] = (char)ch;
		}
		i++;
	}
	return -1;
}

/* --- value rewriting ------------------------------------------------- */

/* "1.234,56" -> "1234.56" written at out (room for n bytes): the length, or
 * 0 when s is not such a number. The result needs no COPY escaping. */
size_t csv_put_decimal_comma(char *out, const char *s, size_t n)
{
	int commas = 0, digits = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch >= '0' && ch <= '9')
			digits++;
		else if (ch == ',')
			commas++;
		else if (ch == '.') {
			if (commas)
				return 0;
		} else if (!((ch == '-' || ch == '+') && i == 0))
			return 0;
	}
	if (!digits || commas > 1)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '.')
			out[o++] = s[i] == ',' ? '.' : s[i];
	return o;
}

static int read_digits(const char *s, size_t n, size_t *i, int min, int max)
{
	int v = 0, k = 0;
	while (*i < n && k < max && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		k++;
	}
	return k >= min ? v : -1;
}

bool csv_date_format_valid(const char *fmt)
{
	int d = 0, m = 0, y = 0;
	if (!fmt || strlen(fmt) >= CSV_DATE_FORMAT_MAX)
		return false;
	for (const char *f = fmt; *f;) {
		if (strncmp(f, "YYYY", 4) == 0)
			y++, f += 4;
		else if (strncmp(f, "DD", 2) == 0)
			d++, f += 2;
		else if (strncmp(f, "MM", 2) == 0)
			m++, f += 2;
		else if (strchr("/-. ", *f))
			f++;
		else
			return false;
	}
	return d == 1 && m == 1 && y == 1;
}

/* A date format, compiled: DD, MM and YYYY as tokens, anything else literal. */
enum date_token { DT_END, DT_DAY, DT_MONTH, DT_YEAR, DT_LITERAL };

void csv_compile_date_format(const char *fmt, unsigned char *prog, size_t len)
{
	size_t k = 0;
	for (const char *f = fmt; *f && k + 3 < len;) {
		bool sep_after;
		if (strncmp(f, "YYYY", 4) == 0) {
			prog[k++] = DT_YEAR;
			f += 4;
			continue;
		}
		if (strncmp(f, "DD", 2) == 0 || strncmp(f, "MM", 2) == 0) {
			/* one or two digits when a separator follows, else exactly two */
			sep_after = f[2] && strchr("/-. ", f[2]);
			prog[k++] = f[0] == 'D' ? DT_DAY : DT_MONTH;
			prog[k++] = sep_after ? 1 : 2;
			f += 2;
			continue;
		}
		prog[k++] = DT_LITERAL;
		prog[k++] = (unsigned char)*f++;
	}
	prog[k] = DT_END;
}

/* Rewrites a value that matches the compiled format (plus an optional time
 * after a space or 'T') as YYYY-MM-DD[ time]; false when it does not match. */
bool csv_rewrite_date(struct dynbuf *out, const unsigned char *prog, const char *s, size_t n)
{
	int d = -1, m = -1, y = -1;
	size_t i = 0;
	for (const unsigned char *p = prog; *p != DT_END;) {
		switch (*p++) {
		case DT_YEAR:
			if ((y = read_digits(s, n, &i, 4, 4)) < 0)
				return false;
			break;
		case DT_DAY:
			if ((d = read_digits(s, n, &i, *p++, 2)) < 0)
				return false;
			break;
		case DT_MONTH:
			if ((m = read_digits(s, n, &i, *p++, 2)) < 0)
				return false;
			break;
		default:
			if (i >= n || (unsigned char)s[i] != *p++)
				return false;
			i++;
		}
	}
	if (i < n && s[i] != ' ' && s[i] != 'T')
		return false;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	out->len = 0;
	if (!dynbuf_reserve(out, 10 + (n - i)))
		return false;
	char *o = out->data;
	o[0] = (char)('0' + y / 1000), o[1] = (char)('0' + y / 100 % 10), o[2] = (char)('0' + y / 10 % 10);
	o[3] = (char)('0' + y % 10), o[4] = '-', o[5] = (char)('0' + m / 10), o[6] = (char)('0' + m % 10);
	o[7] = '-', o[8] = (char)('0' + d / 10), o[9] = (char)('0' + d % 10);
	memcpy(o + 10, s + i, n - i);
	out->len = 10 + (n - i);
	return true;
}

