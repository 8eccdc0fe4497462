/* Applies sql/migrations in file-name order. Checksums are computed by
 * PostgreSQL (sha256) so there is no hashing code of ours to trust. */
#include "server/migrate.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_LOCK_KEY "7352119001"

static int is_migration_name(const char *name)
{
	size_t n = strlen(name);
	return n > 9 && isdigit((unsigned char)name[0]) && isdigit((unsigned char)name[1]) &&
	       isdigit((unsigned char)name[2]) && isdigit((unsigned char)name[3]) && name[4] == '_' &&
	       strcmp(name + n - 4, ".sql") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int apply_one(PGconn *conn, const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *sql = util_read_file(path, NULL);
	if (!sql) {
		snprintf(err, errlen, "cannot read migration %s", path);
		return -1;
	}

	int rc = -1;
	const char *params[2] = {name, sql};
	PGresult *r = PQexecParams(conn,
		"SELECT checksum = encode(sha256(convert_to($2, 'UTF8')), 'hex') "
		"FROM control.schema_migrations WHERE version = $1", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "migration %s: %s", name, PQresultErrorMessage(r));
		goto out;
	}
	if (PQntuples(r) == 1) {
		if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
			snprintf(err, errlen, "migration %s was changed after it was applied; "
				 "add a new migration instead", name);
			goto out;
		}
		rc = 0;
		goto out;
	}
	PQclear(r);

	if (db_exec(conn, "BEGIN", err, errlen) != 0)
		goto out_nores;
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "migration %s failed: %s", name, PQresultErrorMessage(r));
		goto rollback;
	}
	PQclear(r);
	r = PQexecParams(conn,
		"INSERT INTO control.schema_migrations (version, checksum) "
		"VALUES ($1, encode(sha256(convert_to($2, 'UTF8')), 'hex'))", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "migration %s: %s", name, PQresultErrorMessage(r));
		goto rollback;
	}
	PQclear(r);
	r = NULL;
	if (db_commit(conn, err, errlen) != 0)
		goto out_nores;
	log_json(LOG_INFO, "migration applied", json_pack("{s:s}", "version", name));
	rc = 0;
	goto out;
rollback:
	db_rollback(conn);
out:
	PQclear(r);
out_nores:
	err[strcspn(err, "\n")] = 0;
	free(sql);
	return rc;
}

int migrate_run(PGconn *conn, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot open migrations directory %s", dir);
		return -1;
	}
	char **names = NULL;
	size_t count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_migration_name(e->d_name))
			continue;
		char **grown = realloc(names, (count + 1) * sizeof *names);
		if (!grown)
			break;
		names = grown;
		names[count++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof *names, cmp_names);

	int rc = -1;
	if (db_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen) != 0)
		goto out;
	if (db_exec(conn, "SET client_min_messages = warning; "
			  "CREATE SCHEMA IF NOT EXISTS control; "
			  "CREATE TABLE IF NOT EXISTS control.schema_migrations ("
			  " version text PRIMARY KEY, checksum text NOT NULL,"
			  " applied_at timestamptz NOT NULL DEFAULT now())", err, errlen) != 0)
		goto unlock;
	for (size_t i = 0; i < count; i++)
		if (apply_one(conn, dir, names[i], err, errlen) != 0)
			goto unlock;
	rc = (int)count;
unlock:
	/* closing the connection would release it as well */
	PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
out:
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return rc;
}

int migrate_applied_count(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT count(*) FROM control.schema_migrations");
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}
