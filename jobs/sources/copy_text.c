/* COPY text pieces (see copy_text.h). */
#include "jobs/sources/copy_text.h"

#include <string.h>

char *copy_text_digits_before(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

char *copy_text_fixed_digits(char *p, unsigned long long v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

char *copy_text_put_field(char *o, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		switch (c) {
		case 0:
			return NULL;
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		default:
			*o++ = (char)c;
		}
	}
	return o;
}

char *copy_text_put_int(char *o, long long v)
{
	char buf[24], *end = buf + sizeof buf;
	char *b = copy_text_digits_before(end, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
	if (v < 0)
		*--b = '-';
	memcpy(o, b, (size_t)(end - b));
	return o + (end - b);
}

bool copy_text_add_int(struct dynbuf *out, long long v)
{
	if (!dynbuf_reserve(out, 20))
		return false;
	out->len = (size_t)(copy_text_put_int(out->data + out->len, v) - out->data);
	out->data[out->len] = 0;
	return true;
}

int copy_text_add_field(struct dynbuf *out, const unsigned char *s, size_t n)
{
	if (!dynbuf_reserve(out, 2 * n))
		return COPY_TEXT_NOMEM;
	char *end = copy_text_put_field(out->data + out->len, s, n);
	if (!end) {
		out->data[out->len] = 0; /* the buffer as it was */
		return COPY_TEXT_NUL;
	}
	out->len = (size_t)(end - out->data);
	out->data[out->len] = 0;
	return COPY_TEXT_OK;
}

void copy_text_civil_from_days(long long days, long long *y, int *m, int *d)
{
	/* H. Hinnant's civil_from_days: eras of 400 years from 0000-03-01 */
	long long z = days + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}
