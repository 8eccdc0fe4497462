/* PostgreSQL's binary COPY rows as LAND text (a full load's fast path,
 * jobs/sources/postgresql.c). A snapshot is read once, in binary: the same
 * bytes go on to a typed table built beside LAND (jobs/layers/trusted_stage.h)
 * and, turned into COPY text here, to LAND. The text is what PostgreSQL's
 * own text output would be in a UTC session with DateStyle ISO, so LAND and
 * RAW keep what a text COPY would have kept, and TRUSTED's cast of it gives
 * back the very value the typed table holds.
 *
 * Only the types below; a source column of any other type (floats, whose
 * shortest form is PostgreSQL's own algorithm, intervals, arrays, ...)
 * keeps the load on the text path. */
#ifndef LAKE_POSTGRESQL_BINARY_H
#define LAKE_POSTGRESQL_BINARY_H

#include "lib/dynbuf.h"

#include <stddef.h>

enum pgbin_type {
	PGBIN_BOOL, PGBIN_INT2, PGBIN_INT4, PGBIN_INT8, PGBIN_TEXT, PGBIN_JSONB, PGBIN_NUMERIC,
	PGBIN_DATE, PGBIN_TIMESTAMP, PGBIN_TIMESTAMPTZ, PGBIN_UUID,
};

/* The converter's type for a built-in type OID, or -1 when it has none. */
int pgbin_type_of_oid(unsigned oid);

enum {
	PGBIN_OK = 0,
	PGBIN_NOMEM = -1,   /* the output buffer failed */
	PGBIN_BAD = -2,     /* bytes that are not a binary COPY of these types */
};

/* Length of the binary COPY header at the start of `p` (signature, flags,
 * extension), or PGBIN_BAD. */
long pgbin_header_len(const unsigned char *p, size_t n);

/* Reads one tuple at `p` (a field count, then each field's length and
 * bytes) of `ncols` columns of `types`, and appends its fields as COPY text
 * separated by tabs (no end of line). Sets *used to the tuple's length.
 * The trailer (a count of -1) returns PGBIN_OK with *used 2 and *end set. */
int pgbin_tuple_text(struct dynbuf *out, const unsigned char *p, size_t n, const int *types, int ncols,
		     size_t *used, int *end);

#endif
