/* The statements a lake connection keeps prepared (see statements.c): the
 * pipeline steps that run a statement as a prepared one, preparing it first
 * on a connection that lacks it. */
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

/* Writes into `steps` (room for QUERY_STATEMENT_STEPS) what runs `plain`
 * (an unnamed statement with its parameters) as a prepared statement on
 * connection c: its execution, after its Prepare when c lacks it, after the
 * DEALLOCATE of the least recently used one when c has too many.
 * `fingerprint` is the table's (query_table) when the statement reads a
 * table, else NULL. What `plain` points to must outlive the pipeline.
 * Returns the number of steps; the last one's result is the statement's. */
int query_statement_steps(PGconn *c, const char *fingerprint, const struct db_step *plain, struct db_step *steps,
			  struct query_statement *st);

/* After the pipeline ran (`out`: db_pipeline's results, indexed from the
 * first of these steps): forgets a statement whose Prepare did not succeed. */
void query_statement_done(const struct query_statement *st, PGresult *const *out);

#endif
