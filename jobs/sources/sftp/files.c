/* The lake side of sftp loads: control.files, LAND's file columns and the
 * rejects table (see sftp_files.h). Values go in as parameters; the only
 * identifiers are LAND's, validated with the source and quoted. */
#include "jobs/sources/sftp/files.h"
#include "lib/sqlident.h"
#include "jobs/layers/land.h"

#include <stdlib.h>
#include <string.h>

static int failed(PGresult *r, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
	err[strcspn(err, "\n")] = 0;
	PQclear(r);
	return -1;
}

static int exec(PGconn *lake, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *r = PQexec(lake, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		return failed(r, what, err, errlen);
	PQclear(r);
	return 0;
}

/* Runs a parameterised query expected to return rows; *out is the result. */
static int query(PGconn *lake, const char *sql, int n, const char *const *params, PGresult **out,
		 const char *what, char *err, size_t errlen)
{
	PGresult *r = PQexecParams(lake, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		return failed(r, what, err, errlen);
	*out = r;
	return 0;
}

int sftp_files_prepare(PGconn *lake, json_t *source, const char *land_table, char *rejects, size_t rejectslen,
		       char *err, size_t errlen)
{
	char name[200], sql[1024];
	if (land_add_column(lake, land_table, "_file", "text", err, errlen) != 0 ||
	    land_add_column(lake, land_table, "_line", "bigint", err, errlen) != 0)
		return -1;
	snprintf(name, sizeof name, "%s_%s_rejects", json_string_value(json_object_get(source, "system")),
		 json_string_value(json_object_get(source, "object")));
	char *q = sqlident_quote(lake, name);
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(rejects, rejectslen, "land.%s", q);
	free(q);
	snprintf(sql, sizeof sql,
		 "CREATE TABLE IF NOT EXISTS %s ("
		 "_job_id bigint NOT NULL DEFAULT current_setting('shopperlake.job_id')::bigint, "
		 "file text NOT NULL, line bigint, raw text, reason text NOT NULL, "
		 "rejected_at timestamptz NOT NULL DEFAULT now())", rejects);
	return exec(lake, sql, "rejects table", err, errlen);
}

static void fmt_ll(char *buf, size_t len, long long v)
{
	snprintf(buf, len, "%lld", v);
}

int sftp_files_seen(PGconn *lake, long long source_id, const struct sftp_file *f, bool *seen, char *err,
		    size_t errlen)
{
	char src[24], size[24], mtime[24];
	fmt_ll(src, sizeof src, source_id);
	fmt_ll(size, sizeof size, f->size);
	fmt_ll(mtime, sizeof mtime, f->mtime);
	const char *params[4] = {src, f->name, size, mtime};
	PGresult *r;
	if (query(lake, "SELECT 1 FROM control.files WHERE source_id = $1 AND name = $2 AND size = $3 "
		  "AND mtime = to_timestamp($4::bigint)", 4, params, &r, "control.files", err, errlen) != 0)
		return -1;
	*seen = PQntuples(r) > 0;
	PQclear(r);
	return 0;
}

int sftp_files_latest(PGconn *lake, long long source_id, const char *name, long long *id, char *sha256,
		      char **path, char *err, size_t errlen)
{
	char src[24];
	fmt_ll(src, sizeof src, source_id);
	const char *params[2] = {src, name};
	PGresult *r;
	if (query(lake, "SELECT id, sha256, bucket_path FROM control.files WHERE source_id = $1 AND name = $2 "
		  "ORDER BY id DESC LIMIT 1", 2, params, &r, "control.files", err, errlen) != 0)
		return -1;
	*id = 0;
	sha256[0] = 0;
	*path = NULL;
	if (PQntuples(r) > 0) {
		*id = atoll(PQgetvalue(r, 0, 0));
		snprintf(sha256, 65, "%s", PQgetvalue(r, 0, 1));
		*path = strdup(PQgetvalue(r, 0, 2));
	}
	PQclear(r);
	return 0;
}

int sftp_files_path_taken(PGconn *lake, const char *bucket_path, bool *taken, char *err, size_t errlen)
{
	const char *params[1] = {bucket_path};
	PGresult *r;
	if (query(lake, "SELECT 1 FROM control.files WHERE bucket_path = $1 LIMIT 1", 1, params, &r,
		  "control.files", err, errlen) != 0)
		return -1;
	*taken = PQntuples(r) > 0;
	PQclear(r);
	return 0;
}

int sftp_files_record(PGconn *lake, long long source_id, long long job_id, const struct sftp_file *f,
		      const char *sha256, const char *bucket_path, long long same_as, long long *id, char *err,
		      size_t errlen)
{
	char src[24], job[24], size[24], mtime[24], same[24];
	fmt_ll(src, sizeof src, source_id);
	fmt_ll(job, sizeof job, job_id);
	fmt_ll(size, sizeof size, f->size);
	fmt_ll(mtime, sizeof mtime, f->mtime);
	fmt_ll(same, sizeof same, same_as);
	const char *params[8] = {src, f->name, size, mtime, sha256, bucket_path, job, same_as ? same : NULL};
	PGresult *r;
	if (query(lake,
		  "INSERT INTO control.files AS f (source_id, name, size, mtime, sha256, bucket_path, job_id, same_as) "
		  "VALUES ($1, $2, $3, to_timestamp($4::bigint), $5, $6, $7, $8) "
		  "ON CONFLICT (source_id, name, size, mtime) DO UPDATE SET sha256 = excluded.sha256, "
		  "bucket_path = excluded.bucket_path, job_id = excluded.job_id, same_as = excluded.same_as, "
		  "rows_landed = 0, rows_rejected = 0, loaded_at = now() RETURNING id",
		  8, params, &r, "control.files", err, errlen) != 0)
		return -1;
	*id = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int sftp_files_set_sha(PGconn *lake, long long id, const char *sha256, char *err, size_t errlen)
{
	char fid[24];
	fmt_ll(fid, sizeof fid, id);
	const char *params[2] = {fid, sha256};
	PGresult *r;
	if (query(lake, "UPDATE control.files SET sha256 = $2 WHERE id = $1", 2, params, &r, "control.files", err,
		  errlen) != 0)
		return -1;
	PQclear(r);
	return 0;
}

int sftp_files_counts(PGconn *lake, long long id, long long landed, long long rejected, char *err, size_t errlen)
{
	char fid[24], l[24], rj[24];
	fmt_ll(fid, sizeof fid, id);
	fmt_ll(l, sizeof l, landed);
	fmt_ll(rj, sizeof rj, rejected);
	const char *params[3] = {fid, l, rj};
	PGresult *r;
	if (query(lake, "UPDATE control.files SET rows_landed = $2, rows_rejected = $3 WHERE id = $1", 3, params, &r,
		  "control.files", err, errlen) != 0)
		return -1;
	PQclear(r);
	return 0;
}

int sftp_files_copy_rejects(PGconn *lake, const char *rejects, FILE *spool, char *err, size_t errlen)
{
	char sql[400], buf[65536];
	snprintf(sql, sizeof sql, "COPY %s (file, line, raw, reason) FROM STDIN", rejects);
	PGresult *r = PQexec(lake, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		return failed(r, "rejects", err, errlen);
	PQclear(r);
	rewind(spool);
	size_t n;
	const char *problem = NULL;
	while ((n = fread(buf, 1, sizeof buf, spool)) > 0)
		if (PQputCopyData(lake, buf, (int)n) != 1) {
			problem = "the lake connection failed";
			break;
		}
	if (!problem && ferror(spool))
		problem = "cannot read the rejects spool";
	long long rows;
	if (land_copy_end(lake, problem, &rows, err, errlen) != 0) {
		if (problem)
			snprintf(err, errlen, "rejects: %s", problem);
		return -1;
	}
	return 0;
}
