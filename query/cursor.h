/* The keyset cursor behind `after=`: base64url (no padding) of the JSON
 * {"h":"<signature>","k":[v1, v2, ...]} where the v are the sort-key values
 * of the last row of a page as PostgreSQL's text (null for NULL). The
 * signature names the table and the sort key, so a cursor pasted onto a
 * different order or table is refused rather than misread. Opaque to
 * clients; it carries no secret and every value in it is bound as a
 * parameter when used. */
#ifndef LAKE_QUERY_CURSOR_H
#define LAKE_QUERY_CURSOR_H

#include <stddef.h>

/* Returns the cursor (free()), or NULL when out of memory or a value is
 * not UTF-8. `values[i]` NULL means SQL NULL. */
char *query_cursor_encode(const char *signature, const char *const *values, size_t n);
/* Decodes a cursor expected to hold n values for `signature`. On success
 * returns 0 and *values (n entries, NULL for SQL NULL; free with
 * query_cursor_values_free). Returns -1 when it is malformed, -2 when it
 * belongs to another table or order. */
int query_cursor_decode(const char *cursor, const char *signature, size_t n, char ***values);
void query_cursor_values_free(char **values, size_t n);


#endif
