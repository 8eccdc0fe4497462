/* The one growable byte buffer (after curl's dynbuf): doubling growth, a
 * size cap, and a sticky failure flag. An allocation failure or passing the
 * cap sets `failed` (and `too_big` for the cap) and makes every later append
 * a no-op, so callers may check once at the end instead of after every call;
 * the appends also return false at once for callers that stop early.
 *
 * A zeroed struct is an empty buffer capped at DYNBUF_DEFAULT_MAX. */
#ifndef LAKE_DYNBUF_H
#define LAKE_DYNBUF_H

#include <stdbool.h>
#include <stddef.h>

#define DYNBUF_DEFAULT_MAX ((size_t)1 << 30)

struct dynbuf {
	char *data;     /* NUL-terminated when len > 0 or after dynbuf_cstr */
	size_t len;
	size_t cap;
	size_t max;     /* the most bytes it may hold; 0 = DYNBUF_DEFAULT_MAX */
	bool failed;
	bool too_big;   /* failed because of the cap */
};

/* An empty buffer holding at most `max` bytes (0 = the default cap). */
void dynbuf_init(struct dynbuf *b, size_t max);

/* Makes room for `more` bytes (and a NUL) after len, for callers that write
 * into data + len themselves and then advance len. After it, data is never
 * NULL. */
bool dynbuf_reserve(struct dynbuf *b, size_t more);
bool dynbuf_add(struct dynbuf *b, const void *s, size_t n);
bool dynbuf_addstr(struct dynbuf *b, const char *s);
bool dynbuf_addc(struct dynbuf *b, char c);
bool dynbuf_printf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text so far ("" when empty or failed), still owned by the buffer. */
const char *dynbuf_cstr(struct dynbuf *b);
/* Hands the text to the caller (free()), or NULL after a failure; the
 * buffer is emptied and keeps its cap. */
char *dynbuf_take(struct dynbuf *b);
/* Empties the buffer, keeping its memory and its cap. */
void dynbuf_reset(struct dynbuf *b);
void dynbuf_free(struct dynbuf *b);

#endif
