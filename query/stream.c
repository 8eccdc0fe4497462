/* The row pump behind a streamed response.
 *
 * A page of at most QUERY_WHOLE_PAGE_MAX rows is one plain statement, read
 * before the stream is made (query_page); the stream writes its rows up to
 * the page's limit and its outputs only (not the sort key after them). Larger pages
 * and exports come from a cursor in batches of STREAM_BATCH: libpq's single-row
 * mode would bound memory the same way, but it builds a whole PGresult
 * (attribute names and all) per row, which cost as much CPU as PostgreSQL
 * spent producing the rows. While one batch is formatted the FETCH for the
 * next is already on its way, so PostgreSQL and this thread work at once.
 * Memory: one batch received, one in the socket, one chunk formatted.
 *
 * State: the batch being written (`batch`, next row `at`), whether a FETCH
 * is in flight, the formatted bytes not yet handed out (`out` from `off`),
 * and the phase: head, rows, tail, done. */
#include "query/stream.h"
#include "lib/dynbuf.h"
#include "query/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_CHUNK (32 * 1024)  /* format rows until this much is waiting */
#define STREAM_BATCH 500          /* rows per FETCH */
#define STREAM_STR_(x) #x
#define STREAM_STR(x) STREAM_STR_(x)
#define STREAM_FETCH "FETCH FORWARD " STREAM_STR(STREAM_BATCH) " FROM query_rows"

enum phase { PHASE_HEAD, PHASE_ROWS, PHASE_TAIL, PHASE_DONE, PHASE_FAILED };

struct query_stream {
	PGconn *conn;
	enum phase phase;
	PGresult *batch;          /* rows being written, or NULL */
	int at;                   /* next row of batch */
	int batch_rows;           /* rows of batch to write */
	bool in_flight;           /* a FETCH was sent and its result not read */
	long long rows;
	struct query_row_format rf;
	const char **values;      /* one row's values, for query_format_row */
	size_t *lens;
	char *head;               /* JSON: {"items":[  CSV: the header line */
	char *tail;               /* JSON: ],"next":...}  CSV: "" */
	struct dynbuf out;
	size_t off;
	char error[256];
};

static void fail(struct query_stream *s, const char *what)
{
	snprintf(s->error, sizeof s->error, "%s", what);
	s->error[strcspn(s->error, "\n")] = 0;
	s->phase = PHASE_FAILED;
}

/* Reads the result of the FETCH in flight (NULL-terminated sequence).
 * Returns it, or NULL after a failure with *failed set to its result. */
static PGresult *receive(PGconn *c, PGresult **failed)
{
	PGresult *r = PQgetResult(c), *extra;
	while ((extra = PQgetResult(c)))
		PQclear(extra);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	*failed = r ? r : PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	return NULL;
}

/* Takes the FETCH in flight as the current batch and, when it was full,
 * sends the next one at once. Returns NULL or the failed result. */
static PGresult *next_batch(struct query_stream *s)
{
	PGresult *failed = NULL;
	PQclear(s->batch);
	s->batch = NULL;
	s->at = 0;
	if (!s->in_flight)
		return NULL;
	s->in_flight = false;
	if (!(s->batch = receive(s->conn, &failed)))
		return failed;
	s->batch_rows = PQntuples(s->batch);
	if (PQntuples(s->batch) == STREAM_BATCH) {
		if (!PQsendQuery(s->conn, STREAM_FETCH))
			return PQmakeEmptyPGresult(s->conn, PGRES_FATAL_ERROR);
		s->in_flight = true;
	}
	return NULL;
}

static void write_row(struct query_stream *s, const PGresult *r, int row)
{
	for (size_t i = 0; i < s->rf.ncols; i++) {
		int c = (int)i;
		s->values[i] = PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
		s->lens[i] = (size_t)PQgetlength(r, row, c);
	}
	query_format_row(&s->out, &s->rf, s->rows == 0, s->values, s->lens);
	s->rows++;
}

/* Formats more of the body into s->out. */
static void refill(struct query_stream *s)
{
	dynbuf_reset(&s->out);
	s->off = 0;
	if (s->phase == PHASE_HEAD) {
		dynbuf_addstr(&s->out, s->head);
		s->phase = PHASE_ROWS;
	}
	while (s->phase == PHASE_ROWS && s->out.len < STREAM_CHUNK) {
		if (!s->batch || s->at >= s->batch_rows) {
			PGresult *failed = next_batch(s);
			if (failed) {
				fail(s, PQresultErrorMessage(failed)[0] ? PQresultErrorMessage(failed)
									 : PQerrorMessage(s->conn));
				PQclear(failed);
				break;
			}
			if (!s->batch) {
				s->phase = PHASE_TAIL;
				break;
			}
			continue;
		}
		write_row(s, s->batch, s->at++);
	}
	if (s->phase == PHASE_TAIL) {
		dynbuf_addstr(&s->out, s->tail);
		s->phase = PHASE_DONE;
	}
	if (s->out.failed)
		fail(s, "out of memory formatting a row");
}

ssize_t query_stream_read(struct query_stream *s, char *buf, size_t max)
{
	if (s->off >= s->out.len && s->phase != PHASE_DONE && s->phase != PHASE_FAILED)
		refill(s);
	if (s->phase == PHASE_FAILED)
		return -1;
	size_t n = s->out.len - s->off;
	if (n > max)
		n = max;
	if (n == 0)
		return 0;
	memcpy(buf, s->out.data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

const char *query_stream_whole(struct query_stream *s, size_t *len)
{
	if (s->phase == PHASE_HEAD)
		refill(s);
	if (s->phase != PHASE_DONE || s->off != 0)
		return NULL;
	*len = s->out.len;
	return s->out.data ? s->out.data : "";
}

const char *query_stream_error(const struct query_stream *s)
{
	return s->error;
}

long long query_stream_rows(const struct query_stream *s)
{
	return s->rows;
}

static int make_parts(struct query_stream *s, enum query_format fmt, const struct query_plan *plan,
		      const struct query_table *t, const char *next)
{
	struct dynbuf b = {0};
	size_t n = plan->nout;
	const char **names = calloc(n ? n : 1, sizeof *names);
	enum query_kind *kinds = calloc(n ? n : 1, sizeof *kinds);
	s->values = calloc(n ? n : 1, sizeof *s->values);
	s->lens = calloc(n ? n : 1, sizeof *s->lens);
	int rc = -1;
	if (!names || !kinds || !s->values || !s->lens)
		goto out;
	for (size_t i = 0; i < n; i++) {
		names[i] = plan->out_names[i];
		kinds[i] = plan->out_kinds[i];
	}
	if (query_row_format_init(&s->rf, fmt, n, names, kinds) != 0)
		goto out;
	if (fmt == QUERY_FORMAT_JSON) {
		s->head = strdup("{\"items\":[");
		dynbuf_addstr(&b, "],\"next\":");
		if (next)
			query_json_string(&b, next, strlen(next));
		else
			dynbuf_addstr(&b, "null");
		dynbuf_addstr(&b, "}\n");
	} else {
		query_format_csv_header(&b, n, names);
		s->head = dynbuf_take(&b);
	}
	s->tail = dynbuf_take(&b);
	rc = s->head && s->tail ? 0 : -1;
out:
	free(names);
	free(kinds);
	return rc;
}

static void stream_free(struct query_stream *s)
{
	query_row_format_free(&s->rf);
	free(s->values);
	free(s->lens);
	free(s->head);
	free(s->tail);
	dynbuf_free(&s->out);
	free(s);
}

struct query_stream *query_stream_open(PGconn *c, const struct query_plan *plan,
				       const struct query_table *t, enum query_format fmt,
				       const char *next, PGresult **res)
{
	struct dynbuf declare = {0};
	*res = NULL;
	struct query_stream *s = calloc(1, sizeof *s);
	if (!s || make_parts(s, fmt, plan, t, next) != 0)
		goto oom;
	s->conn = c;
	dynbuf_printf(&declare, "DECLARE query_rows NO SCROLL CURSOR FOR %s", plan->sql);
	if (declare.failed)
		goto oom;
	*res = PQexecParams(c, declare.data, plan->nparams, NULL, plan->values, NULL, NULL, 0);
	dynbuf_free(&declare);
	if (PQresultStatus(*res) != PGRES_COMMAND_OK)
		goto failed;
	PQclear(*res);
	*res = NULL;
	/* the first batch now, so an error is still an HTTP error */
	if (!PQsendQuery(c, STREAM_FETCH))
		goto oom;
	s->in_flight = true;
	if ((*res = next_batch(s)))
		goto failed;
	return s;
oom:
	dynbuf_free(&declare);
	*res = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
failed:
	if (s) {
		PQclear(s->batch);
		stream_free(s);
	}
	if (!*res)
		*res = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	return NULL;
}

struct query_stream *query_stream_page(PGresult *rows, const struct query_plan *plan, const struct query_table *t,
				       enum query_format fmt, const char *next)
{
	struct query_stream *s = calloc(1, sizeof *s);
	if (!s || make_parts(s, fmt, plan, t, next) != 0) {
		if (s)
			stream_free(s);
		return NULL;
	}
	s->batch = rows;
	s->batch_rows = PQntuples(rows);
	if (plan->whole && s->batch_rows > plan->limit)
		s->batch_rows = (int)plan->limit; /* the row after the page only told that one follows */
	return s;
}

PGconn *query_stream_close(struct query_stream *s)
{
	if (!s)
		return NULL;
	PGconn *c = s->conn;
	PQclear(s->batch);
	if (s->in_flight) {
		PGresult *r;
		while ((r = PQgetResult(c)))
			PQclear(r);
	}
	stream_free(s);
	return c;
}
