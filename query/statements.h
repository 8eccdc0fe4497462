/* The page statements a lake connection keeps prepared (see statements.c):
 * the steps that run a page's SQL as a prepared statement, preparing it
 * first on a connection that lacks it. */
#ifndef LAKE_QUERY_STATEMENTS_H
#define LAKE_QUERY_STATEMENTS_H

#include "lib/db.h"

#include <libpq-fe.h>

/* Room for the steps query_statement_steps writes. */
#define QUERY_STATEMENT_STEPS 3

/* What one use of the cache did, for query_statement_done. */
struct query_statement {
	void *prepared;         /* the entry prepared by these steps, or NULL */
	int prepare_step;       /* its Prepare step */
	char deallocate[48];    /* the SQL of a DEALLOCATE step (the steps point here) */
};

/* Writes into `steps` (room for QUERY_STATEMENT_STEPS) what runs `sql` with
 * `values` on connection c: the prepared statement's execution, after its
 * Prepare when c lacks it, after the DEALLOCATE of the least recently used
 * one when c has too many. `fingerprint` is the table's (query_table);
 * `sql` and `values` must outlive the pipeline. Returns the number of
 * steps; the last one's result is the rows. */
int query_statement_steps(PGconn *c, const char *fingerprint, const char *sql, int nparams,
			  const char *const *values, struct db_step *steps, struct query_statement *st);

/* After the pipeline ran (`out` as db_pipeline left it for those steps):
 * forgets a statement whose Prepare did not succeed. */
void query_statement_done(PGconn *c, const struct query_statement *st, PGresult *const *out);

#endif
