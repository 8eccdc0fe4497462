/* Extraction from a SQL Server source (the marketplace in production),
 * through FreeTDS' db-lib (conn.c), with Change Tracking as Microsoft
 * documents it ("Work with change tracking", "CHANGETABLE").
 *
 * - Full load: in one SNAPSHOT isolation transaction, read
 *   CHANGE_TRACKING_CURRENT_VERSION() and the rows; that version is the
 *   offset, committed with the LAND rows in the lake's one transaction.
 *   The rows carry sys_change_operation NULL: a snapshot, so TRUSTED knows
 *   which keys are gone.
 * - Incremental: CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(...)) first —
 *   an offset older than it means the changes were cleaned up (retention)
 *   or the table truncated: the job fails with "a full load is required",
 *   or with options.on_ct_expired "reload" reloads in full itself —; then
 *   CHANGETABLE(CHANGES t, offset) LEFT OUTER JOIN t on the key: one row per
 *   changed key with its latest data (NULLs for a delete), its
 *   SYS_CHANGE_VERSION and SYS_CHANGE_OPERATION (I/U/D) into LAND's
 *   sys_change_version/sys_change_operation. A key update arrives as a D of
 *   the old key and an I of the new; a transaction that commits late gets
 *   its version at commit, so the next load takes it.
 * - Without snapshot isolation on the source database the reads are
 *   bounded by version instead (CHANGETABLE ... WHERE SYS_CHANGE_VERSION <=
 *   the version read first): row data may be newer than the offset, and
 *   the next load takes those keys again (TRUSTED keeps the newest). The
 *   job says so in its extract step's notice.
 * - Watermark (tables without Change Tracking): rows whose offset column is
 *   above the stored maximum, marked 'U'; a row committed late with a
 *   smaller value is missed (the documented caveat of watermarks).
 *
 * Rows stream from dbnextrow into LAND's COPY in 32 KB messages: memory is
 * one batch plus the row being formatted, whatever the table's size. */
#include "jobs/sources/kind.h"
#include "jobs/layers/land.h"
#include "jobs/sources/sqlserver/conn.h"
#include "jobs/sources/sqlserver/headroom.h"
#include "jobs/sources/sqlserver/format.h"
#include "jobs/sources/sqlserver/options.h"
#include "jobs/sources/sqlserver/discover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_EVERY 8192
#define BATCH_BYTES (32 * 1024)

struct ms_load {
	struct worker_slot *w;
	struct mssql_conn conn;
	json_t *source;
	char *qtable;         /* [schema].[object] */
	char *qname;          /* N'[schema].[object]', for OBJECT_ID */
	struct dynbuf sql;
	struct dynbuf batch;  /* COPY text not yet sent to the lake */
	int ncols;            /* the source definition's columns */
	bool ct_columns;      /* the result ends with version and operation */
	const char *tail;     /* else: the text of the pair, "\t\\N\t\\N" or "\t\\N\tU" */
	bool in_tx;           /* a snapshot transaction is open on the source */
};

static const char *key_column(json_t *source, int *count)
{
	const char *key = NULL;
	size_t i;
	json_t *col;
	*count = 0;
	json_array_foreach(json_object_get(source, "columns"), i, col)
		if (json_is_true(json_object_get(col, "key"))) {
			key = json_string_value(json_object_get(col, "name"));
			(*count)++;
		}
	return key;
}

/* "SELECT a.[c1], a.[c2] ..." with the key taken from key_alias. */
static bool add_select_list(struct ms_load *l, const char *alias, const char *key, const char *key_alias)
{
	size_t i;
	json_t *col;
	bool ok = dynbuf_addstr(&l->sql, "SELECT ");
	json_array_foreach(json_object_get(l->source, "columns"), i, col) {
		const char *name = json_string_value(json_object_get(col, "name"));
		char *q = mssql_quote_ident(name);
		ok = ok && q && dynbuf_printf(&l->sql, "%s%s.%s", i ? ", " : "",
					      key && strcmp(name, key) == 0 ? key_alias : alias, q);
		free(q);
	}
	return ok;
}

/* A version number read from the source or stored as the offset. */
static int parse_version(const char *text, long long *v)
{
	char *end;
	errno = 0;
	*v = text ? strtoll(text, &end, 10) : 0;
	return text && !errno && end != text && !*end && *v >= 0 ? 0 : -1;
}

static int flush(struct ms_load *l, struct load_error *err)
{
	if (l->batch.failed)
		return load_fail(err, JOB_TRANSIENT, "out of memory formatting a row");
	if (l->batch.len && PQputCopyData(l->w->lake, l->batch.data, (int)l->batch.len) != 1)
		return load_fail(err, JOB_TRANSIENT, "lake copy: %s", PQerrorMessage(l->w->lake));
	dynbuf_reset(&l->batch);
	return 0;
}

static int format_row(struct ms_load *l, struct load_error *err)
{
	int total = l->ncols + (l->ct_columns ? 2 : 0);
	for (int c = 1; c <= total; c++) {
		int type;
		const unsigned char *data;
		size_t len;
		mssql_col(&l->conn, c, &type, &data, &len);
		if (c > 1)
			dynbuf_addc(&l->batch, '\t');
		int rc = mssql_format(&l->batch, type, data, len);
		if (rc == MSSQL_FMT_NOMEM)
			return load_fail(err, JOB_TRANSIENT, "out of memory formatting a row");
		if (rc != MSSQL_FMT_OK)
			return load_fail(err, JOB_PERMANENT, "column %s: %s", mssql_col_name(&l->conn, c),
					 rc == MSSQL_FMT_NUL ? "a text value holds a NUL character, which PostgreSQL text cannot keep"
					 : rc == MSSQL_FMT_UNKNOWN ? "a SQL Server type the lake does not load (see the type table in the docs)"
					 : "a value of unexpected length for its type");
	}
	if (!l->ct_columns)
		dynbuf_addstr(&l->batch, l->tail);
	dynbuf_addc(&l->batch, '\n');
	return 0;
}

/* Sends the query in l->sql and streams its rows into the LAND COPY. */
static int stream_rows(struct ms_load *l, const char *land_table, struct load_result *res, struct load_error *err)
{
	char msg[512];
	long long rows = 0, ignored;
	int rc = -1, row = 0;
	if (land_copy_begin(l->w->lake, l->source, land_table, msg, sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	if (l->sql.failed) {
		load_fail(err, JOB_TRANSIENT, "out of memory");
		goto out;
	}
	if (mssql_send(&l->conn, l->sql.data, err, "query") != 0 || mssql_next_result(&l->conn, err, "query") != 1)
		goto out;
	int want = l->ncols + (l->ct_columns ? 2 : 0);
	if (mssql_ncols(&l->conn) != want) {
		load_fail(err, JOB_PERMANENT, "the source answered %d columns, %d expected", mssql_ncols(&l->conn), want);
		goto out;
	}
	while ((row = mssql_next_row(&l->conn, err, "query")) == 1) {
		if (format_row(l, err) != 0)
			goto out;
		if (l->batch.len >= BATCH_BYTES && flush(l, err) != 0)
			goto out;
		if (++rows % PROGRESS_EVERY == 0)
			atomic_store(&l->w->rows_read, rows);
		/* every row: rows may trickle in (db-lib's own check runs only
		 * after a second without any byte) */
		if (worker_should_stop(l->w))
			break;
	}
	if (row < 0)
		goto out;
	if (worker_should_stop(l->w)) {
		load_fail(err, JOB_CANCELLED, "cancelled after %lld rows", rows);
		goto out;
	}
	if (mssql_finish(&l->conn, err, "query") != 0 || flush(l, err) != 0)
		goto out;
	rc = 0;
out:
	atomic_store(&l->w->rows_read, rows);
	res->rows_read = rows;
	if (rc != 0) {
		mssql_cancel(&l->conn); /* a no-op on a finished or lost connection */
		land_copy_end(l->w->lake, "source failed", &ignored, msg, sizeof msg);
		return -1;
	}
	if (land_copy_end(l->w->lake, NULL, &res->rows_written, msg, sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake copy: %s", msg);
	return 0;
}

/* One value read in the load's session; permanent `missing` when NULL. */
static int read_value(struct ms_load *l, const char *sql, char **out, struct load_error *err, const char *what)
{
	return mssql_value(&l->conn, sql, out, err, what);
}

static void add_notice(struct load_result *res, const char *text)
{
	size_t n = strlen(res->notice);
	snprintf(res->notice + n, sizeof res->notice - n, "%s%s", n ? " " : "", text);
}

/* Change tracking: the version this load reads up to, and whether the
 * stored offset still holds (else reload or fail). Sets *incremental. */
static int ct_versions(struct ms_load *l, const char *before, bool *incremental, long long *to,
		       struct load_result *res, struct load_error *err)
{
	char sql[600], *text = NULL;
	long long min_valid = 0;
	snprintf(sql, sizeof sql, "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(%s))", l->qname);
	if (read_value(l, sql, &text, err, "change tracking check") != 0)
		return -1;
	if (!text || parse_version(text, &min_valid) != 0) {
		free(text);
		return load_fail(err, JOB_PERMANENT, "change tracking is not enabled on %s in the source database "
				 "(enable it, or register the source with offset_mode watermark)", l->qtable);
	}
	free(text);
	if (read_value(l, "SELECT CHANGE_TRACKING_CURRENT_VERSION()", &text, err, "change tracking version") != 0)
		return -1;
	if (!text || parse_version(text, to) != 0) {
		free(text);
		return load_fail(err, JOB_PERMANENT, "change tracking is not enabled on the source database");
	}
	free(text);
	if (!*incremental)
		return 0;
	long long from;
	if (parse_version(before, &from) != 0)
		return load_fail(err, JOB_PERMANENT, "the stored offset '%.40s' is not a change tracking version; "
				 "run a full load", before);
	if (from >= min_valid)
		return 0;
	const char *on_expired = json_string_value(json_object_get(json_object_get(l->source, "options"), "on_ct_expired"));
	if (!on_expired || strcmp(on_expired, "reload") != 0)
		return load_fail(err, JOB_PERMANENT, "a full load is required: the stored offset %lld is older than the "
				 "source's change tracking minimum valid version %lld for %s (changes cleaned up "
				 "after the retention period, or the table truncated); or set options.on_ct_expired "
				 "to \"reload\"", from, min_valid, l->qtable);
	char note[200];
	snprintf(note, sizeof note, "The offset %lld was older than the minimum valid version %lld: reloaded in full "
		 "(options.on_ct_expired reload).", from, min_valid);
	add_notice(res, note);
	*incremental = false;
	return 0;
}

static int build_ct_query(struct ms_load *l, const char *key, long long from, long long to, bool bounded)
{
	char *qkey = mssql_quote_ident(key);
	bool ok = qkey && add_select_list(l, "t", key, "CT") &&
		  dynbuf_printf(&l->sql, ", CT.SYS_CHANGE_VERSION, CT.SYS_CHANGE_OPERATION FROM CHANGETABLE(CHANGES %s, %lld) "
				"AS CT LEFT OUTER JOIN %s AS t ON t.%s = CT.%s", l->qtable, from, l->qtable, qkey, qkey);
	if (ok && bounded)
		ok = dynbuf_printf(&l->sql, " WHERE CT.SYS_CHANGE_VERSION <= %lld", to);
	free(qkey);
	l->ct_columns = true;
	return ok ? 0 : -1;
}

/* Watermark: the offset column's maximum now (read before the rows), and
 * the rows above the stored one. */
static int build_watermark(struct ms_load *l, const char *before, bool incremental, struct load_result *res,
			   struct load_error *err)
{
	const char *col = json_string_value(json_object_get(l->source, "offset_column"));
	char *qcol = mssql_quote_ident(col), *sql = NULL;
	if (!qcol || asprintf(&sql, "SELECT TOP 1 t.%s FROM %s AS t WHERE t.%s IS NOT NULL ORDER BY t.%s DESC", qcol,
			      l->qtable, qcol, qcol) < 0) {
		free(qcol);
		return load_fail(err, JOB_TRANSIENT, "out of memory");
	}
	int rc = read_value(l, sql, &res->offset_after, err, "watermark");
	free(sql);
	if (rc == 0 && !res->offset_after && before)
		res->offset_after = strdup(before); /* empty table: stay where we were */
	if (rc == 0 && incremental) {
		char *lit = mssql_quote_string(before);
		/* 'U': changes, not a snapshot — TRUSTED must not delete the keys a watermark load did not see */
		l->tail = "\t\\N\tU";
		rc = lit && add_select_list(l, "t", NULL, NULL) &&
		     dynbuf_printf(&l->sql, " FROM %s AS t WHERE t.%s > %s", l->qtable, qcol, lit) ? 0
		     : load_fail(err, JOB_TRANSIENT, "out of memory");
		free(lit);
	}
	free(qcol);
	return rc;
}

static int plan(struct ms_load *l, const struct claimed_job *job, struct load_result *res, struct load_error *err)
{
	const char *mode = json_string_value(json_object_get(l->source, "offset_mode"));
	const char *before = json_string_value(json_object_get(l->source, "last_offset"));
	bool incremental = strcmp(job->load_type, "incremental") == 0 && before;
	bool ct = mode && strcmp(mode, "change_tracking") == 0, watermark = mode && strcmp(mode, "watermark") == 0;
	int nkeys;
	const char *key = key_column(l->source, &nkeys);
	char *text = NULL;

	if (ct && nkeys != 1)
		return load_fail(err, JOB_PERMANENT, "change tracking needs exactly one key column (found %d)", nkeys);
	char sql[600];
	snprintf(sql, sizeof sql, "SELECT OBJECT_ID(%s)", l->qname);
	if (read_value(l, sql, &text, err, "catalog") != 0)
		return -1;
	if (!text)
		return load_fail(err, JOB_PERMANENT, "table %s does not exist in the source database", l->qtable);
	free(text);
	if (read_value(l, "SELECT snapshot_isolation_state FROM sys.databases WHERE name = DB_NAME()", &text, err,
		       "isolation check") != 0)
		return -1;
	bool snapshot = text && strcmp(text, "1") == 0;
	free(text);
	if (snapshot && mssql_exec(&l->conn, "SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRANSACTION", err,
				   "begin") != 0)
		return -1;
	l->in_tx = snapshot;

	l->tail = "\t\\N\t\\N";
	if (ct) {
		long long to = 0;
		if (ct_versions(l, before, &incremental, &to, res, err) != 0)
			return -1;
		if (asprintf(&res->offset_after, "%lld", to) < 0)
			return load_fail(err, JOB_TRANSIENT, "out of memory");
		if (!snapshot) {
			char note[240];
			snprintf(note, sizeof note, "Snapshot isolation is off in the source database: changes read up to "
				 "version %lld (rows may be newer than that; the next load takes those keys again).", to);
			add_notice(res, note);
		}
		if (incremental) {
			long long from = 0;
			parse_version(before, &from);
			if (build_ct_query(l, key, from, to, !snapshot) != 0)
				return load_fail(err, JOB_TRANSIENT, "out of memory");
			return 0;
		}
	} else if (watermark) {
		if (build_watermark(l, before, incremental, res, err) != 0)
			return -1;
		if (incremental)
			return 0;
	}
	res->snapshot = true;
	if (!add_select_list(l, "t", NULL, NULL) || !dynbuf_printf(&l->sql, " FROM %s AS t", l->qtable))
		return load_fail(err, JOB_TRANSIENT, "out of memory");
	return 0;
}

static int extract_mssql(struct worker_slot *w, const struct claimed_job *job, json_t *source,
			 const char *land_table, struct load_result *res, struct load_error *err)
{
	struct ms_load l = {.w = w, .source = source};
	int rc = -1;
	l.ncols = (int)json_array_size(json_object_get(source, "columns"));
	if (mssql_connect(&l.conn, json_string_value(json_object_get(source, "connection_secret")),
			  json_object_get(source, "options"), w, err) != 0)
		goto out;
	if (worker_should_stop(w)) {
		load_fail(err, JOB_CANCELLED, "cancelled before it started");
		goto out;
	}
	char *qschema = mssql_quote_ident(json_string_value(json_object_get(source, "schema")));
	char *qobject = mssql_quote_ident(json_string_value(json_object_get(source, "object")));
	if (qschema && qobject && asprintf(&l.qtable, "%s.%s", qschema, qobject) < 0)
		l.qtable = NULL;
	free(qschema);
	free(qobject);
	l.qname = l.qtable ? mssql_quote_string(l.qtable) : NULL;
	if (!l.qname) {
		load_fail(err, JOB_TRANSIENT, "out of memory");
		goto out;
	}
	if (plan(&l, job, res, err) != 0)
		goto out;
	atomic_store(&w->rows_estimate, res->rows_estimate);
	if (stream_rows(&l, land_table, res, err) != 0)
		goto out;
	/* ends the snapshot transaction: it only read, so there is nothing to
	 * commit on the source (the lake's transaction is the runner's) */
	if (l.in_tx && mssql_exec(&l.conn, "ROLLBACK TRANSACTION", err, "end of the snapshot") != 0)
		goto out;
	rc = 0;
out:
	mssql_close(&l.conn);
	dynbuf_free(&l.sql);
	dynbuf_free(&l.batch);
	free(l.qtable);
	free(l.qname);
	return rc;
}

const struct source_kind source_kind_sqlserver = {
	.name = "sqlserver",
	.relational = true,
	.default_schema = "dbo",
	.offset_modes = OFFSET_CHANGE_TRACKING | OFFSET_WATERMARK,
	.default_offset_mode = OFFSET_CHANGE_TRACKING,
	.needs_secret = true,
	.validate_options = mssql_options_validate,
	.extract = extract_mssql,
	.discover = mssql_discover,
	.ct_headroom = mssql_ct_headroom,
};
