/* The database side of one table request, before streaming: the read-only
 * transaction under the reader role, the probe that finds the next cursor,
 * and naming the parameter PostgreSQL refused. */
#ifndef LAKE_QUERY_SESSION_H
#define LAKE_QUERY_SESSION_H

#include "query/build.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define QUERY_ROLE "lake_reader"
/* Per statement: the catalog, the probe, the DECLARE and each FETCH, so a
 * long export is not cut while every step of it is bounded. */
#define QUERY_TIMEOUT_MS 30000

/* BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY (so the catalog, the
 * probe and the page see one snapshot), SET LOCAL ROLE lake_reader, SET
 * LOCAL statement_timeout, and cursor_tuple_fraction = 1 (the page is read
 * whole: plan it as a query); one round trip. Returns NULL, or the failed
 * result (the caller PQclears; the connection is then in an aborted
 * transaction that releasing it rolls back). */
PGresult *query_begin(PGconn *c, int timeout_ms);

/* query_begin and the catalog's fingerprint of relation `name` of layer
 * `schema` in one pipeline (one round trip; a statement more for a table
 * whose description is not cached, or changed). Returns 1 and fills *t,
 * 0 when there is no such relation or lake_reader may not read it, -1 with
 * *res (see query_catalog_found). */
int query_open_table(PGconn *c, int timeout_ms, const char *schema, const char *name, struct query_table *t,
		     PGresult **res);

/* Runs the probe of a longer page. Returns NULL and sets *next (free(); NULL when this
 * is the last page), or the failed result. */
PGresult *query_probe(PGconn *c, const struct query_plan *plan, char **next);

/* Runs a page of at most QUERY_WHOLE_PAGE_MAX rows of table t in one
 * statement, prepared on this connection (query/statements.h), and with
 * `end` ends the read-only transaction in the same round trip (when nothing
 * else is read in it).
 * Returns NULL with *rows (the caller owns it; for a whole page it may hold
 * one row more than the page and the sort key after the outputs) and *next
 * (free(); NULL when this is the last page), or the failed result. */
PGresult *query_page(PGconn *c, const struct query_plan *plan, const struct query_table *t, bool end,
		     PGresult **rows, char **next);

/* query_open_table and query_page (ended) in one pipeline, one round trip:
 * `t` is the cached description (query_catalog_cached) and `plan` built
 * from it. Returns 1 with *rows and *next when the catalog's fingerprint
 * confirmed the description; 0 when it did not (the table changed, went,
 * or lake_reader may no longer read it): nothing is answered, and the
 * connection is left idle or in an aborted transaction for the caller to
 * roll back before starting again; -1 with *res on an error of the session
 * or of the page (the transaction then left aborted). */
int query_page_at_once(PGconn *c, int timeout_ms, const struct query_table *t, const struct query_plan *plan,
		       PGresult **rows, char **next, PGresult **res);

/* The total a client asked for with `Prefer: count=...`, as PostgREST has
 * it: exact (count(*) of the filtered rows), planned (the planner's
 * estimate: cheap, approximate), estimated (exact below
 * QUERY_COUNT_EXACT_BELOW planned rows, else planned). */
enum query_count { QUERY_COUNT_NONE, QUERY_COUNT_EXACT, QUERY_COUNT_PLANNED, QUERY_COUNT_ESTIMATED };
#define QUERY_COUNT_EXACT_BELOW 100000

/* Counts the rows the plan's filters select (cursor and limit aside).
 * Returns NULL and sets *total, or the failed result. */
PGresult *query_count(PGconn *c, const struct query_plan *plan, enum query_count how, long long *total);

/* After a statement of the plan failed with a data exception (SQLSTATE
 * class 22), tests each parameter alone in a fresh transaction and returns
 * the index of the first one PostgreSQL refuses, with its message in msg;
 * -1 if none does alone. The connection is left in a read-only transaction. */
int query_diagnose(PGconn *c, const struct query_plan *plan, char *msg, size_t msglen);

#endif
