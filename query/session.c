/* See session.h. */
#include "query/session.h"
#include "lib/db.h"
#include "query/catalog.h"
#include "query/statements.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The transaction of a request. For a pipeline the setup is one prepared
 * statement (set_config is what SET LOCAL runs); query_begin, for the rare
 * fresh start, sends the same as plain SQL. */
static const char sql_begin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char sql_setup[] = "SELECT set_config('role', $1, true), set_config('statement_timeout', $2, true),"
				" set_config('cursor_tuple_fraction', '1', true)";

PGresult *query_begin(PGconn *c, int timeout_ms)
{
	char sql[256];
	snprintf(sql, sizeof sql, "%s; SET LOCAL ROLE " QUERY_ROLE "; SET LOCAL statement_timeout = %d;"
		 " SET LOCAL cursor_tuple_fraction = 1", sql_begin, timeout_ms);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		return NULL;
	}
	if (!r)
		r = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	return r;
}

/* --- pipelines of prepared statements ---------------------------------- */

#define PIPE_STEPS 12
#define PIPE_STATEMENTS 3

/* A pipeline being put together, and which steps are whose. */
struct pipe {
	PGconn *c;
	struct db_step steps[PIPE_STEPS];
	PGresult *out[PIPE_STEPS];
	int n;
	struct query_statement st[PIPE_STATEMENTS];
	int st_first[PIPE_STATEMENTS];
	int nst;
};

static void add_plain(struct pipe *p, const char *sql)
{
	p->steps[p->n++] = (struct db_step){.sql = sql};
}

/* Adds `plain` as a prepared statement; returns the step of its result. */
static int add_prepared(struct pipe *p, const char *fingerprint, const struct db_step *plain)
{
	p->st_first[p->nst] = p->n;
	p->n += query_statement_steps(p->c, fingerprint, plain, &p->steps[p->n], &p->st[p->nst]);
	p->nst++;
	return p->n - 1;
}

/* Runs it; NULL or the first failed result. */
static PGresult *pipe_run(struct pipe *p)
{
	PGresult *failed = db_pipeline(p->c, p->steps, p->n, p->out);
	for (int i = 0; i < p->nst; i++)
		query_statement_done(&p->st[i], &p->out[p->st_first[i]]);
	return failed;
}

/* Takes one result out of the pipe (the caller PQclears it). */
static PGresult *pipe_take(struct pipe *p, int step)
{
	PGresult *r = p->out[step];
	p->out[step] = NULL;
	return r;
}

static void pipe_clear(struct pipe *p)
{
	for (int i = 0; i < p->n; i++)
		PQclear(p->out[i]);
}

/* --- a request's statements -------------------------------------------- */

/* The transaction's setup and the table's fingerprint; `names` and
 * `setup` (the setup's parameters) must outlive the pipeline. Returns the
 * fingerprint's step. */
static int add_open(struct pipe *p, const char *const names[2], const char *const setup[2])
{
	add_plain(p, sql_begin);
	add_prepared(p, NULL, &(struct db_step){.sql = sql_setup, .nparams = 2, .params = setup});
	struct db_step fp = query_catalog_fingerprint_step(names);
	return add_prepared(p, NULL, &fp);
}

int query_open_table(PGconn *c, int timeout_ms, const char *schema, const char *name, struct query_table *t,
		     PGresult **res)
{
	*t = (struct query_table){0};
	char timeout[24];
	snprintf(timeout, sizeof timeout, "%d", timeout_ms);
	const char *names[2] = {schema, name}, *setup[2] = {QUERY_ROLE, timeout};
	struct pipe p = {.c = c};
	int fp = add_open(&p, names, setup);
	int found = -1;
	if (!(*res = pipe_run(&p)))
		found = query_catalog_found(c, schema, name, p.out[fp], t, res);
	pipe_clear(&p);
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

/* The page's statement and, with `end`, the end of the read-only
 * transaction (nothing to keep: ROLLBACK). Returns the page's step. */
static int add_page(struct pipe *p, const struct query_plan *plan, const struct query_table *t, bool end)
{
	struct db_step page = {.sql = plan->sql, .nparams = plan->nparams, .params = plan->values};
	int step = add_prepared(p, t->fingerprint, &page);
	if (end)
		add_plain(p, "ROLLBACK");
	return step;
}

/* A whole page's cursor: the sort key of its last row, after the outputs,
 * when a row follows it. Returns 0, or -1 when out of memory. */
static int page_next(const struct query_plan *plan, const PGresult *r, char **next)
{
	*next = NULL;
	if (!plan->whole || PQntuples(r) <= plan->limit)
		return 0;
	const char **keys = calloc(plan->nkeys, sizeof *keys);
	int last = (int)plan->limit - 1;
	for (size_t i = 0; keys && i < plan->nkeys; i++) {
		int col = (int)(plan->nout + i);
		keys[i] = PQgetisnull(r, last, col) ? NULL : PQgetvalue(r, last, col);
	}
	*next = keys ? query_plan_cursor(plan, keys) : NULL;
	free(keys);
	return *next ? 0 : -1;
}

PGresult *query_page(PGconn *c, const struct query_plan *plan, const struct query_table *t, bool end,
		     PGresult **rows, char **next)
{
	*rows = NULL;
	*next = NULL;
	struct pipe p = {.c = c};
	int page = add_page(&p, plan, t, end);
	PGresult *failed = pipe_run(&p), *r = pipe_take(&p, page);
	pipe_clear(&p);
	if (failed) {
		PQclear(r);
		return failed;
	}
	if (page_next(plan, r, next) != 0) {
		PQclear(r);
		return PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	}
	*rows = r;
	return NULL;
}

int query_page_at_once(PGconn *c, int timeout_ms, const struct query_table *t, const struct query_plan *plan,
		       PGresult **rows, char **next, PGresult **res)
{
	*rows = NULL;
	*next = NULL;
	*res = NULL;
	char timeout[24];
	snprintf(timeout, sizeof timeout, "%d", timeout_ms);
	const char *names[2] = {t->schema, t->name}, *setup[2] = {QUERY_ROLE, timeout};
	struct pipe p = {.c = c};
	int fp = add_open(&p, names, setup);
	int page = add_page(&p, plan, t, true);
	PGresult *failed = pipe_run(&p), *fpr = p.out[fp];
	bool confirmed = fpr && PQntuples(fpr) == 1 && t->fingerprint &&
			 strcmp(PQgetvalue(fpr, 0, 0), t->fingerprint) == 0;
	int rc = 1;
	if (fpr && !confirmed) {
		rc = 0; /* the table changed or went since it was cached: its page is no answer */
		PQclear(failed);
	} else if (failed) {
		rc = -1; /* the session's error, or the page's */
		*res = failed;
	} else {
		*rows = pipe_take(&p, page);
		if (page_next(plan, *rows, next) != 0) {
			PQclear(*rows);
			*rows = NULL;
			*res = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
			rc = -1;
		}
	}
	pipe_clear(&p);
	return rc;
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
