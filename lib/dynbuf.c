/* The growable buffer: doubling growth up to a cap, one failure flag. */
#include "lib/dynbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dynbuf_init(struct dynbuf *b, size_t max)
{
	*b = (struct dynbuf){.max = max};
}

bool dynbuf_reserve(struct dynbuf *b, size_t more)
{
	if (b->failed)
		return false;
	size_t max = b->max ? b->max : DYNBUF_DEFAULT_MAX;
	if (more > max || b->len > max - more) {
		b->failed = b->too_big = true;
		return false;
	}
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;  /* cannot overflow: len + more <= max <= SIZE_MAX / 2 */
	char *grown = realloc(b->data, cap);
	if (!grown) {
		b->failed = true;
		return false;
	}
	b->data = grown;
	b->cap = cap;
	b->data[b->len] = 0;
	return true;
}

bool dynbuf_add(struct dynbuf *b, const void *s, size_t n)
{
	if (!dynbuf_reserve(b, n))
		return false;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
	return true;
}

bool dynbuf_addstr(struct dynbuf *b, const char *s)
{
	return dynbuf_add(b, s, strlen(s));
}

bool dynbuf_addc(struct dynbuf *b, char c)
{
	return dynbuf_add(b, &c, 1);
}

bool dynbuf_printf(struct dynbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return false;
	}
	if (!dynbuf_reserve(b, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return true;
}

const char *dynbuf_cstr(struct dynbuf *b)
{
	return b->data && !b->failed ? b->data : "";
}

char *dynbuf_take(struct dynbuf *b)
{
	char *out = NULL;
	if (!b->failed)
		out = b->data ? b->data : strdup("");
	else
		free(b->data);
	dynbuf_init(b, b->max);
	return out;
}

void dynbuf_reset(struct dynbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void dynbuf_free(struct dynbuf *b)
{
	free(b->data);
	dynbuf_init(b, b->max);
}
