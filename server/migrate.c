/* Applies the lake's SQL at start: first sql/migrations/NNNN_*.sql in
 * file-name order, each once (a recorded migration whose file changed stops
 * the start); then sql/functions/<schema>.<name>.sql, each applied again
 * whenever its text changed (Flyway's repeatable migrations), so the
 * current body of every function is in one file. Both are recorded in
 * control.schema_migrations, functions as "functions/<file>". Checksums are
 * computed by PostgreSQL (sha256) so there is no hashing code of ours to
 * trust. */
#include "server/migrate.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <jansson.h>

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_LOCK_KEY "7352119001"
#define FUNCTIONS_PREFIX "functions/"

static bool is_migration_name(const char *name)
{
	size_t n = strlen(name);
	return n > 9 && isdigit((unsigned char)name[0]) && isdigit((unsigned char)name[1]) &&
	       isdigit((unsigned char)name[2]) && isdigit((unsigned char)name[3]) && name[4] == '_' &&
	       strcmp(name + n - 4, ".sql") == 0;
}

static bool is_function_name(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".sql") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in `dir` that `want` accepts, sorted, into *out (NULL when
 * none) and *count. -1 when the directory cannot be read, unless optional. */
static int list_dir(const char *dir, bool (*want)(const char *), bool optional, char ***out, size_t *count,
		    char *err, size_t errlen)
{
	*count = 0;
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d) {
		if (optional)
			return 0;
		snprintf(err, errlen, "cannot open the directory %s", dir);
		return -1;
	}
	char **names = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!want(e->d_name))
			continue;
		char **grown = realloc(names, (*count + 1) * sizeof *names);
		char *name = strdup(e->d_name);
		if (!grown || !name) {
			free(name);
			names = grown ? grown : names;
			break;
		}
		names = grown;
		names[(*count)++] = name;
	}
	closedir(d);
	if (names)
		qsort(names, *count, sizeof *names, cmp_names);
	*out = names;
	return 0;
}

static void free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Applies one file in its own transaction unless its text is recorded
 * already. A numbered migration whose recorded text differs is an error; a
 * function file is applied again and its record updated. */
static int apply_one(PGconn *conn, const char *dir, const char *name, bool repeatable, char *err, size_t errlen)
{
	char path[4096], version[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(version, sizeof version, "%s%s", repeatable ? FUNCTIONS_PREFIX : "", name);
	char *sql = util_read_file(path, NULL);
	if (!sql) {
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}

	int rc = -1;
	const char *params[2] = {version, sql};
	PGresult *r = PQexecParams(conn,
		"SELECT checksum = encode(sha256(convert_to($2, 'UTF8')), 'hex') "
		"FROM control.schema_migrations WHERE version = $1", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "migration %s: %s", version, PQresultErrorMessage(r));
		goto out;
	}
	bool recorded = PQntuples(r) == 1, same = recorded && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	if (same) {
		rc = 0;
		goto out;
	}
	if (recorded && !repeatable) {
		snprintf(err, errlen, "migration %s was changed after it was applied; add a new migration instead", name);
		goto out;
	}
	PQclear(r);
	r = NULL;

	if (db_exec(conn, "BEGIN", err, errlen) != 0)
		goto out;
	char msg[1024];
	/* function files go in name order, not call order: a LANGUAGE sql body
	 * may call a function whose file comes later (as pg_dump does) */
	if (repeatable && db_exec(conn, "SET LOCAL check_function_bodies = off", msg, sizeof msg) != 0) {
		snprintf(err, errlen, "migration %s: %s", version, msg);
		goto rollback;
	}
	if (db_exec(conn, sql, msg, sizeof msg) != 0) {
		snprintf(err, errlen, "migration %s failed: %s", version, msg);
		goto rollback;
	}
	if (db_exec_params(conn,
		"INSERT INTO control.schema_migrations (version, checksum) "
		"VALUES ($1, encode(sha256(convert_to($2, 'UTF8')), 'hex')) "
		"ON CONFLICT (version) DO UPDATE SET checksum = excluded.checksum, applied_at = now()",
		2, params, msg, sizeof msg) != 0) {
		snprintf(err, errlen, "migration %s: %s", version, msg);
		goto rollback;
	}
	if (db_commit(conn, err, errlen) != 0)
		goto out;
	log_json(LOG_INFO, "migration applied", json_pack("{s:s}", "version", version));
	rc = 0;
	goto out;
rollback:
	db_rollback(conn);
out:
	PQclear(r);
	err[strcspn(err, "\n")] = 0;
	free(sql);
	return rc;
}

/* The layer and report SQL files (sql/layers/, sql/refined/) as audit
 * events when new, changed or gone since the last start
 * (control.sql_files_sync). A failure here is logged, never fatal. */
static void audit_sql_files(PGconn *conn, const char *sql_dir)
{
	static const char *const dirs[] = {"layers", "refined"};
	char err[512], dir[4096], path[4200];
	json_t *files = json_array();
	for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
		char **names = NULL;
		size_t n = 0;
		snprintf(dir, sizeof dir, "%s/%s", sql_dir, dirs[d]);
		if (list_dir(dir, is_function_name, true, &names, &n, err, sizeof err) != 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			char *text = util_read_file(path, NULL);
			if (text && util_utf8_valid(text)) {
				snprintf(path, sizeof path, "%s/%s", dirs[d], names[i]);
				json_array_append_new(files, json_pack("{s:s, s:s}", "path", path, "text", text));
			}
			free(text);
		}
		free_names(names, n);
	}
	char *arg = json_dumps(files, JSON_COMPACT);
	json_decref(files);
	const char *p[1] = {arg};
	PGresult *r = arg ? PQexecParams(conn, "SELECT control.sql_files_sync($1::jsonb)", 1, NULL, p, NULL, NULL, 0) : NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_json(LOG_WARN, "cannot record the SQL files for the audit",
			 json_pack("{s:s}", "error", r ? PQresultErrorMessage(r) : "out of memory"));
	} else {
		json_t *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
		if (json_integer_value(json_object_get(out, "recorded")) > 0)
			log_json(LOG_INFO, "SQL files changed since the last start (audit events recorded)", out);
		else
			json_decref(out);
	}
	PQclear(r);
	free(arg);
}

int migrate_run(PGconn *conn, const char *sql_dir, char *err, size_t errlen)
{
	char migrations[4096], functions[4096];
	snprintf(migrations, sizeof migrations, "%s/migrations", sql_dir);
	snprintf(functions, sizeof functions, "%s/functions", sql_dir);
	size_t nmig = 0, nfun = 0;
	char **mig = NULL, **fun = NULL;
	int rc = -1;
	if (list_dir(migrations, is_migration_name, false, &mig, &nmig, err, errlen) != 0 ||
	    list_dir(functions, is_function_name, true, &fun, &nfun, err, errlen) != 0)
		goto out;
	if (db_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen) != 0)
		goto out;
	if (db_exec(conn, "SET client_min_messages = warning; "
			  "CREATE SCHEMA IF NOT EXISTS control; "
			  "CREATE TABLE IF NOT EXISTS control.schema_migrations ("
			  " version text PRIMARY KEY, checksum text NOT NULL,"
			  " applied_at timestamptz NOT NULL DEFAULT now())", err, errlen) != 0)
		goto unlock;
	for (size_t i = 0; i < nmig; i++)
		if (apply_one(conn, migrations, mig[i], false, err, errlen) != 0)
			goto unlock;
	for (size_t i = 0; i < nfun; i++)
		if (apply_one(conn, functions, fun[i], true, err, errlen) != 0)
			goto unlock;
	audit_sql_files(conn, sql_dir);
	rc = (int)nmig;
unlock:
	/* closing the connection would release it as well */
	PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
out:
	free_names(mig, nmig);
	free_names(fun, nfun);
	return rc;
}

int migrate_applied_count(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT count(*) FROM control.schema_migrations "
				   "WHERE version NOT LIKE '" FUNCTIONS_PREFIX "%'");
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}
