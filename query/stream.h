/* Streams a query's rows as JSON or CSV with bounded memory, however many
 * rows: a cursor is read in batches and the caller pulls the formatted bytes
 * in chunks (query_stream_read), so only a batch or two of rows and one
 * chunk are held at once.
 *
 * Opening declares the cursor and fetches the first batch, so an error is
 * still a proper HTTP error; after that, an error can only end the stream
 * (the caller logs it and cuts the chunked response short). */
#ifndef LAKE_QUERY_STREAM_H
#define LAKE_QUERY_STREAM_H

#include "query/build.h"
#include "query/format.h"

#include <libpq-fe.h>
#include <sys/types.h>

struct query_stream;

/* For a page longer than QUERY_WHOLE_PAGE_MAX or an export: declares the
 * plan's statement as a cursor in the open transaction and fetches the
 * first batch. On success the
 * stream uses `c` until query_stream_close; it copies what it needs from
 * `plan` and `t`. `next` (may be NULL) is the next page's link, written at
 * the end of a JSON body. On failure returns NULL with *res (the caller
 * PQclears; the connection is idle in an aborted transaction). */
struct query_stream *query_stream_open(PGconn *c, const struct query_plan *plan,
				       const struct query_table *t, enum query_format fmt,
				       const char *next, PGresult **res);
/* A stream over a page already read whole (query_page): takes `rows` (freed
 * with the stream) and writes at most plan->limit of them; it needs no
 * connection (query_stream_close returns NULL). Returns NULL when out of
 * memory (then `rows` stays with the caller). */
struct query_stream *query_stream_page(PGresult *rows, const struct query_plan *plan, const struct query_table *t,
				       enum query_format fmt, const char *next);
/* Before the first read: the whole body when it fits in one chunk of
 * formatted rows (32 KB), with *len (owned by the stream); else NULL, and
 * reading goes on from the start as usual. */
const char *query_stream_whole(struct query_stream *s, size_t *len);
/* Copies up to max bytes of the body into buf: the count, 0 at the end, -1
 * on an error (query_stream_error says which). */
ssize_t query_stream_read(struct query_stream *s, char *buf, size_t max);
const char *query_stream_error(const struct query_stream *s);
/* Rows written so far. */
long long query_stream_rows(const struct query_stream *s);
/* Reads the FETCH still in flight, if any, frees the stream and returns its
 * connection (still inside its transaction, the cursor open until it ends). */
PGconn *query_stream_close(struct query_stream *s);

#endif
