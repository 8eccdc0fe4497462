/* The growable buffer: doubling growth, one failure flag. */
#include "query/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct query_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1) {
		if (cap > (size_t)-1 / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *grown = realloc(b->data, cap);
	if (!grown) {
		b->failed = true;
		return false;
	}
	b->data = grown;
	b->cap = cap;
	return true;
}

void query_buf_append(struct query_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

void query_buf_puts(struct query_buf *b, const char *s)
{
	query_buf_append(b, s, strlen(s));
}

void query_buf_putc(struct query_buf *b, char c)
{
	if (!reserve(b, 1))
		return;
	b->data[b->len++] = c;
	b->data[b->len] = 0;
}

void query_buf_printf(struct query_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *query_buf_cstr(struct query_buf *b)
{
	return b->data && !b->failed ? b->data : "";
}

char *query_buf_take(struct query_buf *b)
{
	char *out = NULL;
	if (!b->failed)
		out = b->data ? b->data : strdup("");
	else
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
	return out;
}

void query_buf_reset(struct query_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void query_buf_free(struct query_buf *b)
{
	free(b->data);
	*b = (struct query_buf){0};
}
