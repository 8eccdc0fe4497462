/* REFINED reports: one SQL file per report in sql/refined/, a SELECT with a
 * header that says what it reads and what its key is:
 *
 *   -- depends: trusted.marketplace_vendas, trusted.marketplace_produtos
 *   -- key: dia, produto_id
 *   SELECT ...
 *
 * A report is rebuilt after a job changes a table it depends on: built aside
 * as refined.<name>__next, its key checked, then put in the live one's place
 * within one transaction, so readers see the old report or the new one, never
 * half (layers.refined_replace: swapped, keeping grants, comments and indexes
 * people added; refilled in place when a view or a trigger hangs on it).
 *
 * A report may say how to refresh only what changed (layers.refined_refresh):
 *
 *   -- refresh_by: dia, produto_id
 *   -- refresh_from: trusted.marketplace_vendas: (data_venda AT TIME ZONE 'America/Sao_Paulo')::date, produto_id
 *   -- index: trusted.marketplace_vendas (((data_venda AT TIME ZONE 'America/Sao_Paulo')::date), produto_id)
 *
 * Then the groups the TRUSTED changes since its last refresh touched are
 * deleted and recomputed, in one transaction; when that cannot be done (first
 * build, a table changed as a whole or with no refresh_from, too many groups)
 * it is rebuilt. Every build records the snapshot it read
 * (control.refined_state), so the next refresh knows which changes it has.
 *
 * Or it names a function of its own that refreshes it, answering as
 * layers.refined_refresh does (the top reports add up signed sales):
 *
 *   -- refresh_with: layers.refresh_top_lojas
 *
 * Each report's transaction reads one snapshot (REPEATABLE READ), the one it
 * records: see report_begin. */
#include "jobs/layers/refined_report.h"
#include "jobs/layers/layers.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/sqlident.h"
#include "lib/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The settings of a report's transaction. No JIT: compiling a report's plan
 * took 1.2 s of desempenho_promocoes' 1.35 s at 1 M sales (its estimates are
 * far above what it reads), and a refresh's small statements never gain.
 * Sorts and hashes in memory, as the TRUSTED merge's. Its commit does not
 * wait for the WAL flush (2-14 ms each here): the job's own commit, which
 * ends the step and does wait, comes after and flushes it too; a crash
 * before that loses the report's transaction whole, with the snapshot it
 * recorded, and the job runs again and redoes it. */
#define REPORT_SETTINGS                                                                                      \
	"SET LOCAL client_min_messages = warning; SET LOCAL jit = off; SET LOCAL work_mem = '256MB'; "          \
	"SET LOCAL synchronous_commit = off"

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

bool report_read(const char *dir, const char *file, struct report *rep)
{
	size_t n = strlen(file);
	if (n < 5 || strcmp(file + n - 4, ".sql") != 0)
		return false;
	memset(rep, 0, sizeof *rep);
	snprintf(rep->name, sizeof rep->name, "%.*s", (int)(n - 4), file);
	if (!sqlident_valid(rep->name) || strlen(rep->name) > 50)
		return false;
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (!(rep->sql = util_read_file(path, NULL)))
		return false;
	header_value(rep->sql, "depends", rep->depends, sizeof rep->depends);
	header_value(rep->sql, "key", rep->key, sizeof rep->key);
	header_value(rep->sql, "refresh_by", rep->refresh_by, sizeof rep->refresh_by);
	header_value(rep->sql, "refresh_with", rep->refresh_with, sizeof rep->refresh_with);
	return true;
}

bool report_reads(const char *list, const char *item)
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

/* The values of every "-- <tag>:" line, as a JSON array (new reference). */
static json_t *header_values(const char *sql, const char *tag)
{
	char pattern[32];
	snprintf(pattern, sizeof pattern, "-- %s:", tag);
	json_t *out = json_array();
	for (const char *p = sql; (p = strstr(p, pattern));) {
		p += strlen(pattern);
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, "\r\n");
		json_array_append_new(out, json_stringn(p, n));
		p += n;
	}
	return out;
}

/* The dependencies as a PostgreSQL array literal: {trusted.a,trusted.b}. */
static void depends_array(const char *depends, char *out, size_t len)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", depends);
	snprintf(out, len, "{");
	for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		snprintf(out + strlen(out), len - strlen(out), "%s%s", out[1] ? "," : "", tok);
	snprintf(out + strlen(out), len - strlen(out), "}");
}

int report_indexes(PGconn *lake, const struct report *rep, char *msg, size_t len)
{
	json_t *defs = header_values(rep->sql, "index"), *d;
	size_t i;
	int rc = 0;
	json_array_foreach(defs, i, d) {
		const char *params[1] = {json_string_value(d)};
		if ((rc = db_exec_params(lake, "SELECT layers.refined_index($1)", 1, params, msg, len)) != 0)
			break;
	}
	json_decref(defs);
	return rc;
}

bool report_dependencies_ready(PGconn *lake, const struct report *rep, const char *schema, char *missing, size_t len)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", rep->depends);
	for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		const char *params[1] = {tok};
		if (schema && strncmp(tok, schema, strlen(schema)) != 0)
			continue;
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

/* "schema.name" quoted as "schema"."name" into out; false when either part is
 * not an identifier. */
static bool qualified_name(PGconn *lake, const char *name, char *out, size_t len)
{
	char buf[200];
	snprintf(buf, sizeof buf, "%s", name);
	char *dot = strchr(buf, '.');
	if (!dot)
		return false;
	*dot = 0;
	if (!sqlident_valid(buf) || !sqlident_valid(dot + 1))
		return false;
	char *a = sqlident_quote(lake, buf), *b = sqlident_quote(lake, dot + 1);
	bool ok = a && b && (size_t)snprintf(out, len, "%s.%s", a, b) < len;
	free(a);
	free(b);
	return ok;
}

/* Lets the report's session lock go (report_begin); a failure is logged. */
static void report_unlock(PGconn *lake, const struct report *rep)
{
	const char *params[1] = {rep->name};
	char err[200];
	if (db_exec_params(lake, "SELECT pg_advisory_unlock(hashtext('refined.' || $1))", 1, params, err, sizeof err) != 0)
		log_json(LOG_WARN, "refined: letting a report's lock go failed",
			 json_pack("{s:s, s:s}", "report", rep->name, "error", err));
}

/* Opens a report's transaction: its lock (one writer per report, held by the
 * session so that it is taken before the transaction's snapshot), then a
 * REPEATABLE READ transaction that first locks the tables the report reads:
 * every statement reads one snapshot, the one the report records (a refresh
 * adding up changes must not see a merge its snapshot does not), and taken
 * after the locks, so a table swapped in meanwhile is read whole, not empty.
 * 0, or -1 (msg) with nothing left open or held. report_end closes it. */
static int report_begin(PGconn *lake, const struct report *rep, char *msg, size_t len)
{
	const char *params[1] = {rep->name};
	if (db_exec_params(lake, "SELECT pg_advisory_lock(hashtext('refined.' || $1))", 1, params, msg, len) != 0)
		return -1;
	char lock[1400] = "LOCK TABLE ", buf[1024], q[200];
	snprintf(buf, sizeof buf, "%s", rep->depends);
	for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (!qualified_name(lake, tok, q, sizeof q)) {
			snprintf(msg, len, "report %s: depends on %s, not a schema.table name", rep->name, tok);
			goto unlock;
		}
		snprintf(lock + strlen(lock), sizeof lock - strlen(lock), "%s%s", lock[11] ? ", " : "", q);
	}
	snprintf(lock + strlen(lock), sizeof lock - strlen(lock), " IN ACCESS SHARE MODE");
	if (db_exec(lake, "BEGIN ISOLATION LEVEL REPEATABLE READ", msg, len) != 0)
		goto unlock;
	if (db_exec(lake, REPORT_SETTINGS, msg, len) != 0 || (lock[11] && db_exec(lake, lock, msg, len) != 0)) {
		db_rollback(lake);
		goto unlock;
	}
	return 0;
unlock:
	report_unlock(lake, rep);
	return -1;
}

/* The last statements of a report's update, in its transaction: marks the
 * report refreshed (control.table_refresh) and records how long the
 * transaction took, which the refined step orders its reports by. 0 or -1
 * (msg). */
static int report_done(PGconn *lake, const struct report *rep, char *msg, size_t len)
{
	const char *params[1] = {rep->name};
	if (layers_mark_refreshed(lake, "refined", rep->name, msg, len) != 0)
		return -1;
	return db_exec_params(lake,
			      "UPDATE control.refined_state SET seconds = extract(epoch FROM clock_timestamp() - now()) "
			      "WHERE report = $1",
			      1, params, msg, len);
}

/* Ends a report's transaction: with `commit`, its last statements
 * (report_done) and the commit; otherwise, or when they fail, a rollback.
 * Lets the report's lock go. 0, or -1 (msg) when the commit failed. */
static int report_end(PGconn *lake, const struct report *rep, bool commit, char *msg, size_t len)
{
	int rc = 0;
	if (!commit)
		db_rollback(lake);
	else if (report_done(lake, rep, msg, len) != 0 || db_commit(lake, msg, len) != 0) {
		db_rollback(lake);
		rc = -1;
	}
	report_unlock(lake, rep);
	return rc;
}

static int rebuild(PGconn *lake, const struct report *rep, char *msg, size_t len)
{
	char next_name[80], *qnext;
	snprintf(next_name, sizeof next_name, "%s__next", rep->name);
	qnext = sqlident_quote(lake, next_name);
	char *sql = NULL;
	int rc = -1;

	if (report_begin(lake, rep, msg, len) != 0)
		goto out;
	char deps[1100];
	depends_array(rep->depends, deps, sizeof deps);
	const char *mark[3] = {rep->name, rep->sql, deps};
	/* the snapshot first: every change it sees is in the SELECT below */
	if (db_exec_params(lake, "SELECT layers.refined_mark($1, $2, $3)", 3, mark, msg, len) != 0)
		goto rollback;
	if (asprintf(&sql, "DROP TABLE IF EXISTS refined.%s; "
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
	/* statistics now: the next refresh weighs its groups against the row count */
	if (asprintf(&sql, "ANALYZE refined.%s", qnext) < 0) {
		sql = NULL;
		goto rollback;
	}
	/* in the live one's place, keeping what hangs on it (layers.refined_replace) */
	const char *name_param[1] = {rep->name};
	if (db_exec(lake, sql, msg, len) != 0 ||
	    db_exec_params(lake, "SELECT layers.refined_replace($1)", 1, name_param, msg, len) != 0)
		goto rollback;
	rc = report_end(lake, rep, true, msg, len);
	goto out;
rollback:
	(void)report_end(lake, rep, false, msg, len);
out:
	free(sql);
	free(qnext);
	return rc;
}

/* {"trusted.t": "expressions"} from the report's refresh_from lines (new reference). */
static json_t *refresh_maps(const char *sql)
{
	json_t *lines = header_values(sql, "refresh_from"), *l, *maps = json_object();
	size_t i;
	json_array_foreach(lines, i, l) {
		const char *line = json_string_value(l), *colon = strchr(line, ':');
		if (!colon)
			continue;
		char table[200];
		snprintf(table, sizeof table, "%.*s", (int)(colon - line), line);
		table[strcspn(table, " ")] = 0;
		json_object_set_new(maps, table, json_string(colon + 1 + strspn(colon + 1, " ")));
	}
	json_decref(lines);
	return maps;
}

/* Refreshes the groups of the report that changed (layers.refined_refresh),
 * in one transaction. 0: done, *out = {"groups", "deleted", "inserted"} (new
 * reference); 1: nothing done, it must be rebuilt, *out = {"full": why};
 * -1: failed (msg). */
static int refresh(PGconn *lake, const struct report *rep, json_t **out, char *msg, size_t len)
{
	char deps[1100], fn[200], *call = NULL;
	depends_array(rep->depends, deps, sizeof deps);
	json_t *maps = refresh_maps(rep->sql);
	char *maps_s = json_dumps(maps, JSON_COMPACT);
	json_decref(maps);
	const char *params[5] = {rep->name, rep->sql, deps, rep->refresh_by, maps_s};
	int rc = -1;
	*out = NULL;
	if (!maps_s) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	/* a function of the report's own takes what layers.refined_refresh takes
	 * (report, sql, depends, refresh_by, refresh_from) and answers as it does */
	if (rep->refresh_with[0] && !qualified_name(lake, rep->refresh_with, fn, sizeof fn)) {
		snprintf(msg, len, "report %s: refresh_with %s is not a schema.function name", rep->name, rep->refresh_with);
		goto out;
	}
	if (asprintf(&call, "SELECT %s($1, $2, $3, $4, $5)", rep->refresh_with[0] ? fn : "layers.refined_refresh") < 0) {
		call = NULL;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if (report_begin(lake, rep, msg, len) != 0)
		goto out;
	PGresult *r = PQexecParams(lake, call, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		*out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	else {
		db_remember_failure(r);
		snprintf(msg, len, "%s", PQresultErrorMessage(r));
		msg[strcspn(msg, "\n")] = 0;
	}
	PQclear(r);
	if (!*out)
		goto rollback;
	if (json_object_get(*out, "full")) {
		(void)report_end(lake, rep, false, msg, len);
		rc = 1;
		goto out;
	}
	rc = report_end(lake, rep, true, msg, len);
	goto out;
rollback:
	(void)report_end(lake, rep, false, msg, len);
out:
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	free(call);
	free(maps_s);
	return rc;
}

int report_update(PGconn *lake, const struct report *rep, struct report_outcome *out, char *msg, size_t len)
{
	json_t *res = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(out, 0, sizeof *out);
	if (rep->refresh_by[0] || rep->refresh_with[0]) {
		int rc = refresh(lake, rep, &res, msg, len);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			out->refreshed = res;
			goto done;
		}
		out->why = json_incref(json_object_get(res, "full"));
		json_decref(res);
	} else {
		out->why = json_string("no refresh_by or refresh_with line");
	}
	if (rebuild(lake, rep, msg, len) != 0) {
		json_decref(out->why);
		out->why = NULL;
		return -1;
	}
	out->rebuilt = true;
done:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->seconds = round(((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9) * 1000) / 1000;
	return 0;
}
