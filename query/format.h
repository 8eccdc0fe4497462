/* How one database value is written into a response: JSON (typed by the
 * column's kind) or an RFC 4180 CSV field; plus percent-encoding for the
 * links we build. Values arrive as PostgreSQL's text output. */
#ifndef LAKE_QUERY_FORMAT_H
#define LAKE_QUERY_FORMAT_H

#include "lib/dynbuf.h"

#include <stdbool.h>
#include <stddef.h>

/* What a column becomes in JSON. Decided from the column's base type. */
enum query_kind {
	QUERY_KIND_TEXT,    /* a JSON string */
	QUERY_KIND_NUMBER,  /* int2/4/8, oid, float4/8, numeric: a JSON number (NaN, Infinity as strings) */
	QUERY_KIND_BOOL,    /* true / false */
	QUERY_KIND_JSON,    /* json, jsonb: embedded as is */
};

/* Appends `s` (n bytes) as a quoted JSON string. */
void query_json_string(struct dynbuf *b, const char *s, size_t n);
/* Appends one value; `s` is NULL for SQL NULL. */
void query_json_value(struct dynbuf *b, enum query_kind kind, const char *s, size_t n);
/* Appends one CSV field: NULL is empty, the empty string is "", a field with
 * a comma, quote, CR, LF or leading/trailing space is quoted. Booleans are
 * written true/false like the JSON. */
void query_csv_field(struct dynbuf *b, enum query_kind kind, const char *s, size_t n);
/* Appends `s` percent-encoded for a URL query component. */
void query_url_encode(struct dynbuf *b, const char *s);

enum query_format { QUERY_FORMAT_JSON, QUERY_FORMAT_CSV };

/* What is the same for every row of a response: per column its kind and,
 * for JSON, its key already escaped ("name": with a leading comma after the
 * first). Owned: query_row_format_free. */
struct query_row_format {
	enum query_format fmt;
	size_t ncols;
	enum query_kind *kinds;
	char **keys;
	size_t *key_lens;
};

int query_row_format_init(struct query_row_format *f, enum query_format fmt, size_t ncols,
			  const char *const *names, const enum query_kind *kinds);
void query_row_format_free(struct query_row_format *f);
/* Appends one row: a JSON object (preceded by a comma unless `first`) or a
 * CSV line ending in CRLF. values[i] is NULL for SQL NULL. */
void query_format_row(struct dynbuf *b, const struct query_row_format *f, bool first,
		      const char *const *values, const size_t *lens);
/* Appends the CSV header line naming the columns. */
void query_format_csv_header(struct dynbuf *b, size_t ncols, const char *const *names);

#endif
