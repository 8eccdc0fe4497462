/* COPY text values as fields of PostgreSQL's binary COPY, typed: the way
 * back of postgresql_binary.h, for loads whose rows arrive as text (CSV
 * files) and whose typed table is built beside LAND while they land
 * (jobs/layers/trusted_stage.h).
 *
 * A value converts only in a plain form that TRUSTED's cast of the same
 * text reads as exactly this value: digits with an optional sign and point,
 * ISO dates and timestamps, the spellings of booleans. Anything else (a
 * space, an exponent, a BC date, a number out of range, an escape COPY's
 * text writers never make) is COPY_TYPED_NO: the caller gives the typed
 * table up and TRUSTED casts RAW's text as before, where a bad value goes
 * to quarantine. So this never decides what a value is; it only saves the
 * cast when it surely agrees with it. A numeric goes with every digit it
 * has: numeric_recv rounds it to the column's scale and checks its
 * precision as the cast does. */
#ifndef LAKE_COPY_TYPED_H
#define LAKE_COPY_TYPED_H

#include "lib/dynbuf.h"

#include <stddef.h>

enum copy_typed_kind {
	COPY_TYPED_BOOL, COPY_TYPED_INT2, COPY_TYPED_INT4, COPY_TYPED_INT8, COPY_TYPED_NUMERIC,
	COPY_TYPED_DATE, COPY_TYPED_TIMESTAMP, COPY_TYPED_TEXT,
};

/* The kind for a column of built-in type `oid` with `typmod`, or -1 when
 * there is none (timestamptz reads the session's zone; varchar(n) and
 * char(n) cut or pad where the binary input refuses). */
int copy_typed_kind_of(unsigned oid, int typmod);

enum {
	COPY_TYPED_OK = 0,
	COPY_TYPED_NOMEM = -1, /* the output buffer failed */
	COPY_TYPED_NO = -2,    /* not a plain form of the type: no typed copy */
};

/* Appends the binary COPY header (signature, no flags, no extension). */
int copy_typed_add_header(struct dynbuf *out);
/* Appends the trailer (a field count of -1). */
int copy_typed_add_trailer(struct dynbuf *out);
/* Appends a tuple's field count. */
int copy_typed_add_count(struct dynbuf *out, int fields);
/* Appends one bigint field. */
int copy_typed_add_int8(struct dynbuf *out, long long v);

/* Appends one field (its length, then its bytes; NULL is a length of -1)
 * for the COPY text value s[0..n), escaped as COPY writes it ("\N" alone
 * is NULL). The buffer is as it was unless COPY_TYPED_OK. */
int copy_typed_add(struct dynbuf *out, enum copy_typed_kind kind, const char *s, size_t n);

#endif
