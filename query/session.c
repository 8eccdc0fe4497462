/* See session.h. */
#include "query/session.h"
#include "lib/db.h"
#include "query/catalog.h"
#include "query/statements.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The transaction of a request, as separate statements for a pipeline. */
#define BEGIN_STEPS 4
static const char sql_begin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char sql_role[] = "SET LOCAL ROLE " QUERY_ROLE;
static const char sql_fraction[] = "SET LOCAL cursor_tuple_fraction = 1";

PGresult *query_begin(PGconn *c, int timeout_ms)
{
	char sql[256];
	snprintf(sql, sizeof sql, "%s; %s; SET LOCAL statement_timeout = %d; %s", sql_begin, sql_role, timeout_ms,
		 sql_fraction);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		return NULL;
	}
	if (!r)
		r = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	return r;
}

int query_open_table(PGconn *c, int timeout_ms, const char *schema, const char *name, struct query_table *t,
		     PGresult **res)
{
	*t = (struct query_table){0};
	if (query_catalog_prepare(c, res) != 0)
		return -1;
	char timeout[64];
	snprintf(timeout, sizeof timeout, "SET LOCAL statement_timeout = %d", timeout_ms);
	const char *names[2] = {schema, name};
	struct db_step steps[BEGIN_STEPS + 1] = {{.sql = sql_begin}, {.sql = sql_role}, {.sql = timeout},
						 {.sql = sql_fraction}, query_catalog_fingerprint_step(names)};
	PGresult *out[BEGIN_STEPS + 1];
	int found = -1;
	if (!(*res = db_pipeline(c, steps, BEGIN_STEPS + 1, out)))
		found = query_catalog_found(c, schema, name, out[BEGIN_STEPS], t, res);
	for (int i = 0; i <= BEGIN_STEPS; i++)
		PQclear(out[i]);
	return found;
}

PGresult *query_probe(PGconn *c, const struct query_plan *plan, char **next)
{
	*next = NULL;
	PGresult *r = PQexecParams(c, plan->probe_sql, plan->nparams, NULL, plan->values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return r ? r : PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	if (PQntuples(r) == 2) {
		const char **keys = calloc(plan->nkeys ? plan->nkeys : 1, sizeof *keys);
		for (size_t i = 0; keys && i < plan->nkeys; i++)
			keys[i] = PQgetisnull(r, 0, (int)i) ? NULL : PQgetvalue(r, 0, (int)i);
		*next = keys ? query_plan_cursor(plan, keys) : NULL;
		free(keys);
		if (!*next) {
			PQclear(r);
			return PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
		}
	}
	PQclear(r);
	return NULL;
}

PGresult *query_page(PGconn *c, const struct query_plan *plan, const struct query_table *t, bool end,
		     PGresult **rows, char **next)
{
	*rows = NULL;
	*next = NULL;
	struct db_step steps[QUERY_STATEMENT_STEPS + 1];
	struct query_statement st;
	int n = query_statement_steps(c, t->fingerprint, plan->sql, plan->nparams, plan->values, steps, &st);
	int page = n - 1;
	if (end)
		steps[n++] = (struct db_step){.sql = "ROLLBACK"}; /* read only: nothing to keep */
	PGresult *out[QUERY_STATEMENT_STEPS + 1];
	PGresult *failed = db_pipeline(c, steps, n, out);
	query_statement_done(c, &st, out);
	PGresult *r = out[page];
	for (int i = 0; i < n; i++)
		if (i != page)
			PQclear(out[i]);
	if (failed) {
		PQclear(r);
		return failed;
	}
	if (plan->whole && PQntuples(r) > plan->limit) {
		/* the sort key of the page's last row, after the outputs */
		const char **keys = calloc(plan->nkeys, sizeof *keys);
		int last = (int)plan->limit - 1;
		for (size_t i = 0; keys && i < plan->nkeys; i++) {
			int col = (int)(plan->nout + i);
			keys[i] = PQgetisnull(r, last, col) ? NULL : PQgetvalue(r, last, col);
		}
		*next = keys ? query_plan_cursor(plan, keys) : NULL;
		free(keys);
		if (!*next) {
			PQclear(r);
			return PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
		}
	}
	*rows = r;
	return NULL;
}

int query_diagnose(PGconn *c, const struct query_plan *plan, char *msg, size_t msglen)
{
	db_rollback(c);
	PGresult *r;
	if ((r = query_begin(c, QUERY_TIMEOUT_MS))) {
		PQclear(r);
		return -1;
	}
	/* The first refusal aborts the transaction: it is also the answer. */
	for (int i = 0; i < plan->nparams; i++) {
		char *sql = query_param_check_sql(&plan->params[i]);
		if (!sql)
			return -1;
		r = PQexecParams(c, sql, 1, NULL, &plan->values[i], NULL, NULL, 0);
		free(sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			PQclear(r);
			continue;
		}
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		bool refused = state && strncmp(state, "22", 2) == 0;
		if (refused)
			snprintf(msg, msglen, "%s", primary ? primary : "invalid value");
		PQclear(r);
		if (refused)
			return i;
		return -1;
	}
	return -1;
}

/* The planner's row estimate of the filtered selection. */
static PGresult *planned_rows(PGconn *c, const struct query_plan *plan, long long *total)
{
	PGresult *r = PQexecParams(c, plan->estimate_sql, plan->count_nparams, NULL, plan->values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return r;
	json_t *doc = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	json_t *rows = json_object_get(json_object_get(json_array_get(doc, 0), "Plan"), "Plan Rows");
	*total = json_is_number(rows) ? (long long)json_number_value(rows) : 0;
	json_decref(doc);
	PQclear(r);
	return NULL;
}

PGresult *query_count(PGconn *c, const struct query_plan *plan, enum query_count how, long long *total)
{
	*total = 0;
	if (plan->one_row) {
		*total = 1;
		return NULL;
	}
	if (how == QUERY_COUNT_PLANNED || how == QUERY_COUNT_ESTIMATED) {
		PGresult *r = planned_rows(c, plan, total);
		if (r || how == QUERY_COUNT_PLANNED || *total >= QUERY_COUNT_EXACT_BELOW)
			return r;
	}
	PGresult *r = PQexecParams(c, plan->count_sql, plan->count_nparams, NULL, plan->values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return r;
	*total = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return NULL;
}
