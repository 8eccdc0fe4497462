/* REFINED reports: one SQL file per report in sql/refined/, a SELECT with a
 * header that says what it reads and what its key is:
 *
 *   -- depends: trusted.marketplace_vendas, trusted.marketplace_produtos
 *   -- key: dia, produto_id
 *   SELECT ...
 *
 * A report is rebuilt after a job changes a table it depends on: built aside
 * as refined.<name>__next, its key checked, then swapped in within one
 * transaction, so readers see the old report or the new one, never half. */
#include "jobs/layers/layers.h"
#include "jobs/layers/land.h"
#include "lib/db.h"
#include "lib/sqlident.h"
#include "lib/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct report {
	char name[64];
	char depends[1024];   /* "trusted.a, trusted.b" */
	char key[512];        /* "a, b" or "" */
	char *sql;            /* the whole file */
};

/* Copies the value of header line "-- <tag>:" into out. */
static void header_value(const char *sql, const char *tag, char *out, size_t len)
{
	char pattern[32];
	snprintf(pattern, sizeof pattern, "-- %s:", tag);
	out[0] = 0;
	const char *p = strstr(sql, pattern);
	if (!p)
		return;
	p += strlen(pattern);
	while (*p == ' ')
		p++;
	size_t n = strcspn(p, "\r\n");
	snprintf(out, len, "%.*s", (int)n, p);
}

/* true when the comma list `list` holds `item` exactly. */
static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; (p = strstr(p, item)); p += n) {
		bool start = p == list || p[-1] == ' ' || p[-1] == ',';
		bool end = p[n] == 0 || p[n] == ',' || p[n] == ' ';
		if (start && end)
			return true;
	}
	return false;
}

/* Every dependency exists? Otherwise the report waits for them. */
static bool dependencies_ready(PGconn *lake, const char *depends, char *missing, size_t len)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", depends);
	for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		const char *params[1] = {tok};
		PGresult *r = PQexecParams(lake, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params, NULL, NULL, 0);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
		if (!ok) {
			snprintf(missing, len, "%s", tok);
			return false;
		}
	}
	return true;
}

static int rebuild(PGconn *lake, const struct report *rep, char *msg, size_t len)
{
	char next_name[80], *qname = sqlident_quote(lake, rep->name), *qnext;
	snprintf(next_name, sizeof next_name, "%s__next", rep->name);
	qnext = sqlident_quote(lake, next_name);
	char *sql = NULL;
	int rc = -1;
	const char *params[1] = {rep->name};

	if (db_exec(lake, "BEGIN", msg, len) != 0)
		goto out;
	if (db_exec_params(lake, "SELECT pg_advisory_xact_lock(hashtext('refined.' || $1))", 1, params, msg, len) != 0)
		goto rollback;
	if (asprintf(&sql, "SET LOCAL client_min_messages = warning; DROP TABLE IF EXISTS refined.%s; "
			   "CREATE TABLE refined.%s AS %s", qnext, qnext, rep->sql) < 0) {
		sql = NULL;
		goto rollback;
	}
	/* a trailing ';' in the file would end the CREATE early: strip it */
	for (char *e = sql + strlen(sql); e > sql && strchr(" \t\r\n;", e[-1]); e--)
		e[-1] = 0;
	if (db_exec(lake, sql, msg, len) != 0)
		goto rollback;
	free(sql);
	sql = NULL;
	if (rep->key[0]) {
		/* the key columns are checked identifiers, one by one */
		char cols[600] = "";
		char buf[512];
		snprintf(buf, sizeof buf, "%s", rep->key);
		for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			if (!sqlident_valid(tok)) {
				snprintf(msg, len, "report %s: key column %s is not an identifier", rep->name, tok);
				goto rollback;
			}
			snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s\"%s\"", cols[0] ? ", " : "", tok);
		}
		if (asprintf(&sql, "ALTER TABLE refined.%s ADD PRIMARY KEY (%s)", qnext, cols) < 0) {
			sql = NULL;
			goto rollback;
		}
		if (db_exec(lake, sql, msg, len) != 0) {
			char detail[200];
			snprintf(detail, sizeof detail, "%.199s", msg);
			snprintf(msg, len, "report %.60s: key (%.200s) is not unique or has nulls: %s", rep->name,
				 rep->key, detail);
			goto rollback;
		}
		free(sql);
		sql = NULL;
	}
	if (asprintf(&sql, "DROP TABLE IF EXISTS refined.%s; ALTER TABLE refined.%s RENAME TO %s", qname, qnext, qname) < 0) {
		sql = NULL;
		goto rollback;
	}
	if (db_exec(lake, sql, msg, len) != 0)
		goto rollback;
	if (layers_mark_refreshed(lake, "refined", rep->name, msg, len) != 0)
		goto rollback;
	if (db_commit(lake, msg, len) != 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	db_rollback(lake);
out:
	free(sql);
	free(qname);
	free(qnext);
	return rc;
}

/* The tables whose reports this job rebuilds (control.refined_tables). */
static json_t *tables_to_refresh(PGconn *lake, long long job_id, char *msg, size_t len)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", job_id);
	const char *params[1] = {id};
	json_t *tables = NULL;
	if (db_exec(lake, "BEGIN", msg, len) != 0)
		return NULL;
	PGresult *r = PQexecParams(lake, "SELECT control.refined_tables($1)", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		tables = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	else
		snprintf(msg, len, "%s", PQresultErrorMessage(r));
	PQclear(r);
	if (!tables || db_commit(lake, msg, len) != 0) {
		db_rollback(lake);
		json_decref(tables);
		return NULL;
	}
	return tables;
}

/* Does the report read any of these TRUSTED tables? */
static bool reads_any(const char *depends, json_t *tables)
{
	size_t i;
	json_t *t;
	char dep[200];
	json_array_foreach(tables, i, t) {
		snprintf(dep, sizeof dep, "trusted.%s", json_string_value(t));
		if (list_has(depends, dep))
			return true;
	}
	return false;
}

int layers_refined(struct worker_slot *w, long long job_id, json_t *steps, struct load_error *err)
{
	char dir[4096], msg[1024], started[40], finished[40];
	util_now_iso(started, sizeof started);
	snprintf(dir, sizeof dir, "%s/sql/refined", w->app->cfg.home);
	json_t *built = json_array(), *waiting = json_array();
	int rc = 0;
	json_t *tables = tables_to_refresh(w->lake, job_id, msg, sizeof msg);
	if (!tables) {
		json_decref(built);
		json_decref(waiting);
		return load_fail(err, JOB_TRANSIENT, "refined: %s", msg);
	}

	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) && rc == 0) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".sql") != 0)
			continue;
		struct report rep = {0};
		snprintf(rep.name, sizeof rep.name, "%.*s", (int)(n - 4), e->d_name);
		if (!sqlident_valid(rep.name) || strlen(rep.name) > 50)
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (!(rep.sql = util_read_file(path, NULL)))
			continue;
		header_value(rep.sql, "depends", rep.depends, sizeof rep.depends);
		header_value(rep.sql, "key", rep.key, sizeof rep.key);
		if (reads_any(rep.depends, tables)) {
			char missing[200];
			if (!dependencies_ready(w->lake, rep.depends, missing, sizeof missing)) {
				json_array_append_new(waiting, json_pack("{s:s, s:s}", "report", rep.name, "waits_for", missing));
			} else {
				if (rebuild(w->lake, &rep, msg, sizeof msg) == 0)
					json_array_append_new(built, json_string(rep.name));
				else
					rc = load_fail(err, job_lake_outcome(w), "refined report %s: %s", rep.name, msg);
			}
		}
		free(rep.sql);
	}
	if (d)
		closedir(d);
	util_now_iso(finished, sizeof finished);
	json_t *step = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", STEP_REFINED, "state",
				 rc == 0 ? JOB_STATE_DONE : JOB_STATE_FAILED, "started_at", started,
				 "finished_at", finished, "rebuilt", built, "waiting", waiting);
	if (json_array_size(tables) == 0)
		json_object_set_new(step, "deferred", json_string("the last job of the pipeline run rebuilds the reports"));
	json_array_append_new(steps, step);
	json_decref(tables);
	return rc;
}

json_t *layers_refined_reports(const char *home)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/sql/refined", home);
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	json_t *out = json_array();
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".sql") != 0)
			continue;
		struct report rep = {0};
		snprintf(rep.name, sizeof rep.name, "%.*s", (int)(n - 4), e->d_name);
		if (!sqlident_valid(rep.name) || strlen(rep.name) > 50)
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (!(rep.sql = util_read_file(path, NULL)))
			continue;
		header_value(rep.sql, "depends", rep.depends, sizeof rep.depends);
		free(rep.sql);
		json_t *deps = json_array();
		for (char *save = NULL, *tok = strtok_r(rep.depends, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
			json_array_append_new(deps, json_string(tok));
		json_array_append_new(out, json_pack("{s:s, s:o}", "name", rep.name, "depends", deps));
	}
	closedir(d);
	return out;
}
