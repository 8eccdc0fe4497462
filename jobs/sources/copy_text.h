/* Pieces of COPY's text format shared by the extractors that turn a
 * source's native values into LAND text (SQL Server's db-lib values,
 * PostgreSQL's binary COPY): digits without snprintf (a microsecond a value
 * at millions of rows), a text field escaped, a calendar date from a day
 * number. */
#ifndef LAKE_COPY_TEXT_H
#define LAKE_COPY_TEXT_H

#include "lib/dynbuf.h"

#include <stdbool.h>
#include <stddef.h>

/* Writes v in decimal ending just before `end`; returns where it starts. */
char *copy_text_digits_before(char *end, unsigned long long v);
/* `width` digits of v, zero-padded, at p; returns p + width. */
char *copy_text_fixed_digits(char *p, unsigned long long v, int width);
/* v in decimal at o (room for 20 bytes); returns the end. */
char *copy_text_put_int(char *o, long long v);
/* Appends v in decimal; false when the buffer failed. */
bool copy_text_add_int(struct dynbuf *out, long long v);

enum { COPY_TEXT_OK = 0, COPY_TEXT_NOMEM = -1, COPY_TEXT_NUL = -2 };
/* Appends s as one COPY text field: backslash, tab, newline and CR escaped.
 * COPY_TEXT_NUL when s holds a NUL byte (no PostgreSQL text can); the
 * buffer is then as it was. */
int copy_text_add_field(struct dynbuf *out, const unsigned char *s, size_t n);

/* The same written at o, which has room for 2 * n bytes; returns the end,
 * or NULL when s holds a NUL byte. */
char *copy_text_put_field(char *o, const unsigned char *s, size_t n);

/* The proleptic Gregorian date `days` after 1970-01-01 (negative: before;
 * year 0 is 1 BC). */
void copy_text_civil_from_days(long long days, long long *y, int *m, int *d);

#endif
