/* A growable byte buffer for building SQL text and response chunks. An
 * allocation failure sets `failed` and makes every later append a no-op, so
 * callers check once at the end instead of after every call. */
#ifndef LAKE_QUERY_BUF_H
#define LAKE_QUERY_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct query_buf {
	char *data;     /* NUL-terminated when len > 0 or after query_buf_cstr */
	size_t len;
	size_t cap;
	bool failed;
};

void query_buf_append(struct query_buf *b, const char *s, size_t n);
void query_buf_puts(struct query_buf *b, const char *s);
void query_buf_putc(struct query_buf *b, char c);
void query_buf_printf(struct query_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text so far ("" when empty), still owned by the buffer. */
const char *query_buf_cstr(struct query_buf *b);
/* Hands the text to the caller (free()), or NULL after a failure; the buffer is emptied. */
char *query_buf_take(struct query_buf *b);
void query_buf_reset(struct query_buf *b);
void query_buf_free(struct query_buf *b);

#endif
