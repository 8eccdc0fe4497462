/* Values of the CSV converter (csv_values.c), shared only with csv_copy.c. */
#ifndef LAKE_CSV_VALUES_H
#define LAKE_CSV_VALUES_H

#include "lib/dynbuf.h"

#include <stdbool.h>
#include <stddef.h>

#define CSV_DATE_FORMAT_MAX 32

/* Appends s as a COPY text value. With `lenient`, bytes that are not UTF-8
 * (and NUL) are written as the four characters \xNN; otherwise the first
 * such byte stops it: returns its index, or -1 when all went in. -2 = no memory. */
long csv_add_copy_text(struct dynbuf *b, const char *str, size_t n, bool lenient);
/* Writes s as a COPY text value at out, which has room for 2 * n bytes;
 * returns the bytes written. Stops at the first byte that is not UTF-8, or
 * NUL: *bad is its index, else -1. */
size_t csv_put_copy_text(char *out, const char *s, size_t n, long *bad);
/* "1.234,5" -> "1234.5" written at out (room for n bytes): the length, or 0
 * when s is not such a number. */
size_t csv_put_decimal_comma(char *out, const char *s, size_t n);
/* true for a date format made of DD, MM, YYYY (each once) and separators. */
bool csv_date_format_valid(const char *fmt);
/* Compiles a date_format (DD, MM, YYYY and literal characters) into prog. */
void csv_compile_date_format(const char *fmt, unsigned char *prog, size_t len);
/* Rewrites a date in the compiled format as YYYY-MM-DD into out (at most
 * 2 bytes longer than s); false when s does not match it. */
bool csv_rewrite_date(struct dynbuf *out, const unsigned char *prog, const char *s, size_t n);

#endif
