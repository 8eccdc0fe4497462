/* Extraction from a PostgreSQL source (the marketplace locally).
 *
 * Everything is read in one REPEATABLE READ, READ ONLY source transaction,
 * so the rows and the offset stored with them describe the same instant.
 * Rows stream COPY TO STDOUT -> COPY FROM STDIN, one buffer per row, never
 * more than one row in our memory.
 *
 * Offsets:
 * - change_tracking: the source's snapshot (pg_current_snapshot()) of the
 *   load. The next load takes the changes in ct.<table> written by
 *   transactions that snapshot did not see. Unlike a counter, this cannot
 *   skip a long transaction that commits after a load started: its changes
 *   were invisible to that load's snapshot, so the next load takes them.
 *   ct.offset_lost() tells when retention or a TRUNCATE removed changes we
 *   would need: then the job fails and asks for a full load.
 * - watermark: max(offset_column) in the load's snapshot; the next load
 *   takes rows above it. A row committed late with a smaller value is
 *   missed: the documented limit of watermarks, prefer change tracking.
 * - none: a full snapshot every time.
 * An incremental load of a source that has no offset yet is a full snapshot
 * that records the offset (the initial load). */
#include "jobs/sources/kind.h"
#include "jobs/sources/postgresql_discover.h"
#include "jobs/sources/postgresql_binary.h"
#include "jobs/layers/land.h"
#include "jobs/layers/layers.h"
#include "jobs/layers/trusted_stage.h"
#include "lib/db.h"
#include "lib/sqlident.h"
#include "lib/dynbuf.h"
#include "lib/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_EVERY 8192
#define BATCH_BYTES (32 * 1024)

struct pg_load {
	PGconn *src, *lake;
	json_t *source;
	char *qtable;        /* "schema"."object" */
	char *qobject;       /* "object", for ct."object" */
	struct dynbuf sql;   /* the COPY query being built */
	long long job_id;
	bool may_stage;      /* a snapshot may be read in binary, TRUSTED built beside LAND */
	unsigned *src_oids;  /* each declared column's type in the source */
	int *types;          /* a binary snapshot's converter types; NULL: text */
	int ncols;
};

static int source_error(struct load_error *err, PGconn *src, PGresult *r, const char *what)
{
	const char *state = db_sqlstate(r);
	bool transient = db_error_transient(state, src);
	return load_fail(err, transient ? JOB_TRANSIENT : JOB_PERMANENT, "source %s: %s", what,
			 r ? PQresultErrorMessage(r) : PQerrorMessage(src));
}

/* Runs a query on the source returning one text value (NULL allowed). */
static int source_value(struct pg_load *l, const char *sql, int n, const char *const *params,
			char **out, struct load_error *err, const char *what)
{
	PGresult *r = PQexecParams(l->src, sql, n, NULL, params, NULL, NULL, 0);
	*out = NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		source_error(err, l->src, r, what);
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		*out = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static bool sql_add(struct pg_load *l, const char *text)
{
	return dynbuf_addstr(&l->sql, text);
}

/* Connection failures that retrying will not fix (db_connect's words). */
static bool connect_error_permanent(const char *msg)
{
	return strstr(msg, "authentication failed") || strstr(msg, "does not exist") ||
	       strstr(msg, "pg_hba.conf") || strstr(msg, "malformed");
}

static int connect_source(struct pg_load *l, json_t *source, struct load_error *err)
{
	char msg[512], *url = NULL;
	const char *ref = json_string_value(json_object_get(source, "connection_secret"));
	if (secret_resolve(ref, &url, msg, sizeof msg) != 0)
		return load_fail(err, JOB_PERMANENT, "connection_secret: %s", msg);
	l->src = db_connect(url, "shopperlake-extract", msg, sizeof msg);
	free(url);
	if (!l->src)
		return load_fail(err, connect_error_permanent(msg) ? JOB_PERMANENT : JOB_TRANSIENT,
				 "cannot connect to the source: %s", msg);
	return 0;
}

/* Checks the table and every declared column exist in the source. */
static int check_catalog(struct pg_load *l, struct load_error *err)
{
	const char *params[1] = {l->qtable};
	PGresult *r = PQexecParams(l->src,
		"SELECT a.attname, a.atttypid FROM pg_attribute a WHERE a.attrelid = to_regclass($1) "
		"AND a.attnum > 0 AND NOT a.attisdropped", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		source_error(err, l->src, r, "catalog");
		PQclear(r);
		return -1;
	}
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = load_fail(err, JOB_PERMANENT, "table %s does not exist in the source", l->qtable);
	size_t i;
	json_t *col;
	l->ncols = (int)json_array_size(json_object_get(l->source, "columns"));
	l->src_oids = calloc((size_t)l->ncols + 1, sizeof *l->src_oids);
	json_array_foreach(json_object_get(l->source, "columns"), i, col) {
		const char *name = json_string_value(json_object_get(col, "name"));
		bool found = false;
		for (int k = 0; k < PQntuples(r) && !found; k++)
			if ((found = strcmp(PQgetvalue(r, k, 0), name) == 0) && l->src_oids)
				l->src_oids[i] = (unsigned)strtoul(PQgetvalue(r, k, 1), NULL, 10);
		if (!found && rc == 0)
			rc = load_fail(err, JOB_PERMANENT, "column %s does not exist in source table %s", name, l->qtable);
	}
	PQclear(r);
	return rc;
}

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

/* SELECT list of the source columns, each prefixed by `alias.`, except the
 * key, which is taken from `key_alias` (the change table for deletes). */
static bool add_select_list(struct pg_load *l, const char *alias, const char *key, const char *key_alias)
{
	size_t i;
	json_t *col;
	bool ok = sql_add(l, "SELECT ");
	json_array_foreach(json_object_get(l->source, "columns"), i, col) {
		const char *name = json_string_value(json_object_get(col, "name"));
		char *q = sqlident_quote(l->src, name);
		ok = ok && q && sql_add(l, key && strcmp(name, key) == 0 ? key_alias : alias) &&
		     sql_add(l, ".") && sql_add(l, q) && sql_add(l, ", ");
		free(q);
	}
	return ok;
}

static int ct_enabled(struct pg_load *l, struct load_error *err)
{
	char *exists = NULL, ctname[200];
	snprintf(ctname, sizeof ctname, "ct.%s", l->qobject);
	const char *params[1] = {ctname};
	if (source_value(l, "SELECT to_regclass($1)::text", 1, params, &exists, err, "change tracking") != 0)
		return -1;
	if (!exists)
		return load_fail(err, JOB_PERMANENT,
				 "change tracking is not enabled for %s in the source (no table %s)", l->qtable, ctname);
	free(exists);
	return 0;
}

/* Where a source COPY's messages go: text rows into LAND as they are; a
 * binary snapshot's rows into LAND as text (postgresql_binary.h) and, as
 * they are, into the typed table beside it (trusted_stage.h). Rows are
 * gathered into CopyData messages of BATCH_BYTES or more: a message per
 * row costs the lake backend a protocol round per row. */
struct relay {
	PGconn *lake;
	struct dynbuf land;          /* LAND text not sent yet */
	const char *lake_failed;
	const int *types;            /* a binary snapshot's column types; NULL: text */
	int ncols;
	bool header_read, trailer_read;
	struct trusted_stage *stage;
};

static void relay_flush(struct relay *r)
{
	if (!r->lake_failed && r->land.len > 0 && PQputCopyData(r->lake, r->land.data, (int)r->land.len) != 1)
		r->lake_failed = PQerrorMessage(r->lake);
	r->land.len = 0;
}

/* Takes one source message; returns the rows it held, or a PGBIN_ error. */
static int relay_message(struct relay *r, const char *buf, size_t n)
{
	int rows = 0;
	if (!r->types) {
		dynbuf_add(&r->land, buf, n);
		rows = 1;
	} else {
		const unsigned char *p = (const unsigned char *)buf;
		size_t o = 0;
		trusted_stage_put(r->stage, buf, n);
		if (!r->header_read) {
			long h = pgbin_header_len(p, n);
			if (h < 0)
				return PGBIN_BAD;
			o = (size_t)h;
			r->header_read = true;
		}
		while (o < n) {
			size_t used;
			int end;
			if (r->trailer_read)
				return PGBIN_BAD;
			int rc = pgbin_tuple_text(&r->land, p + o, n - o, r->types, r->ncols, &used, &end);
			if (rc != PGBIN_OK)
				return rc;
			o += used;
			r->trailer_read = end;
			if (!end) {
				dynbuf_add(&r->land, "\t\\N\t\\N\n", 7); /* no change version or operation */
				rows++;
			}
		}
	}
	if (r->land.failed)
		return PGBIN_NOMEM;
	if (r->land.len >= BATCH_BYTES)
		relay_flush(r);
	return rows;
}

/* Streams the source COPY into the LAND COPY (and the stage, if any). */
static int stream_rows(struct worker_slot *w, struct pg_load *l, const char *land_table,
		       struct load_result *res, struct load_error *err)
{
	char msg[512];
	struct relay rl = {.lake = l->lake, .types = l->types, .ncols = l->ncols};
	if (l->types) /* (before LAND's COPY: it asks the lake about the partition) */
		rl.stage = trusted_stage_begin(w, l->source, l->job_id, land_table);
	if (land_copy_begin(l->lake, l->source, land_table, msg, sizeof msg) != 0) {
		trusted_stage_end(rl.stage, false, 0);
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	}

	PGresult *r = PQexec(l->src, l->sql.data);
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		source_error(err, l->src, r, "query");
		PQclear(r);
		long long ignored;
		land_copy_end(l->lake, "source query failed", &ignored, msg, sizeof msg);
		trusted_stage_end(rl.stage, false, 0);
		return -1;
	}
	PQclear(r);
	dynbuf_init(&rl.land, 0);
	char *buf;
	int n, bad = 0;
	long long rows = 0, next_progress = PROGRESS_EVERY;
	while ((n = PQgetCopyData(l->src, &buf, 0)) > 0) {
		int got = bad || rl.lake_failed ? 0 : relay_message(&rl, buf, (size_t)n);
		PQfreemem(buf);
		if (got < 0)
			bad = got;
		else
			rows += got;
		if (rows >= next_progress || bad || rl.lake_failed) {
			next_progress = rows + PROGRESS_EVERY;
			atomic_store(&w->rows_read, rows);
			if (worker_should_stop(w) || rl.lake_failed || bad) {
				worker_interrupt(w); /* the source stops sending; drain below */
				break;
			}
		}
	}
	/* Drain what is left of the source COPY (after an interrupt too). */
	while (n > 0 && (n = PQgetCopyData(l->src, &buf, 0)) > 0)
		PQfreemem(buf);
	if (!bad && !worker_should_stop(w))
		relay_flush(&rl);
	if (!bad && l->types && !rl.trailer_read && !rl.lake_failed && !worker_should_stop(w))
		bad = PGBIN_BAD; /* the rows ended early */
	dynbuf_free(&rl.land);
	atomic_store(&w->rows_read, rows);
	res->rows_read = rows;

	bool source_ok = true;
	while ((r = PQgetResult(l->src))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && source_ok) {
			source_ok = false;
			if (!worker_should_stop(w) && !bad)
				source_error(err, l->src, r, "copy");
		}
		PQclear(r);
	}
	int rc = -1;
	long long ignored;
	if (worker_should_stop(w)) {
		land_copy_end(l->lake, "cancelled", &ignored, msg, sizeof msg);
		load_fail(err, JOB_CANCELLED, "cancelled after %lld rows", rows);
	} else if (bad) {
		land_copy_end(l->lake, "source data unreadable", &ignored, msg, sizeof msg);
		load_fail(err, bad == PGBIN_NOMEM ? JOB_TRANSIENT : JOB_PERMANENT,
			  bad == PGBIN_NOMEM ? "out of memory" : "the source's binary COPY data is not what its "
			  "column types send (row %lld)", rows + 1);
	} else if (!source_ok || rl.lake_failed) {
		land_copy_end(l->lake, "source failed", &ignored, msg, sizeof msg);
		if (rl.lake_failed)
			load_fail(err, JOB_TRANSIENT, "lake copy: %s", rl.lake_failed);
	} else if (land_copy_end(l->lake, NULL, &res->rows_written, msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake copy: %s", msg);
	} else {
		rc = 0;
	}
	/* (its commit goes on while the load's does: the runner waits for it) */
	res->stage = trusted_stage_end(rl.stage, rc == 0, res->rows_written);
	return rc;
}

/* A snapshot is read in binary when every declared column has in the
 * source the very type it is declared with in the lake (binary values are
 * read as that type), and one postgresql_binary.h turns into text. Returns
 * the columns' converter types (malloc'd), or NULL: the load stays text. */
static int *binary_types(struct pg_load *l)
{
	char *columns = json_dumps(json_object_get(l->source, "columns"), JSON_COMPACT);
	const char *params[1] = {columns};
	PGresult *r = columns ? PQexecParams(l->lake, "SELECT coalesce(to_regtype(x->>'type')::oid, 0) "
					"FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, i) ORDER BY i",
					1, NULL, params, NULL, NULL, 0) : NULL;
	free(columns);
	int *types = NULL;
	if (l->src_oids && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == l->ncols && l->ncols > 0 &&
	    (types = malloc((size_t)l->ncols * sizeof *types))) {
		for (int i = 0; i < l->ncols && types; i++) {
			unsigned declared = (unsigned)strtoul(PQgetvalue(r, i, 0), NULL, 10);
			types[i] = declared == l->src_oids[i] ? pgbin_type_of_oid(declared) : -1;
			if (types[i] < 0) {
				free(types);
				types = NULL;
			}
		}
	}
	PQclear(r);
	return types;
}

static int build_query(struct pg_load *l, const struct claimed_job *job, struct load_result *res,
		       struct load_error *err)
{
	const char *mode = json_string_value(json_object_get(l->source, "offset_mode"));
	const char *before = json_string_value(json_object_get(l->source, "last_offset"));
	bool incremental = strcmp(job->load_type, "incremental") == 0 && before;
	bool ct = strcmp(mode, "change_tracking") == 0, watermark = strcmp(mode, "watermark") == 0;
	int nkeys;
	const char *key = key_column(l->source, &nkeys);
	char *value = NULL;

	if (ct && nkeys != 1)
		return load_fail(err, JOB_PERMANENT, "change tracking needs exactly one key column (found %d)", nkeys);
	if (ct && ct_enabled(l, err) != 0)
		return -1;

	if (incremental && (ct || watermark)) {
		const char *params[1] = {before};
		if (source_value(l, "SELECT set_config('shopperlake.offset', $1, true)", 1, params, &value, err,
				 "offset") != 0)
			return -1;
		free(value);
	}
	if (ct && incremental) {
		char *gap = NULL, ctname[200];
		snprintf(ctname, sizeof ctname, "ct.%s", l->qobject);
		const char *params[2] = {before, json_string_value(json_object_get(l->source, "object"))};
		if (source_value(l, "SELECT ct.offset_lost($1::pg_snapshot, $2)::text",
				 2, params, &gap, err, "offset check") != 0)
			return -1;
		bool lost = gap && strcmp(gap, "true") == 0;
		free(gap);
		if (lost)
			return load_fail(err, JOB_PERMANENT,
					 "the source no longer has the changes since the stored offset (change "
					 "tracking retention); run a full load");
		char *qkey = sqlident_quote(l->src, key);
		bool ok = add_select_list(l, "t", key, "c") &&
			  sql_add(l, "c.sys_change_version, c.sys_change_operation FROM ") && sql_add(l, ctname) &&
			  sql_add(l, " c LEFT JOIN ") && sql_add(l, l->qtable) && sql_add(l, " t ON t.") &&
			  sql_add(l, qkey) && sql_add(l, " = c.id WHERE c.txid >= (SELECT pg_snapshot_xmin("
				 "current_setting('shopperlake.offset')::pg_snapshot)) AND NOT pg_visible_in_snapshot("
				 "c.txid, (SELECT current_setting('shopperlake.offset')::pg_snapshot)) "
				 "ORDER BY c.sys_change_version");
		free(qkey);
		if (!ok)
			return load_fail(err, JOB_TRANSIENT, "out of memory");
		char q[512];
		snprintf(q, sizeof q, "SELECT count(*)::text FROM %s c WHERE c.txid >= (SELECT pg_snapshot_xmin("
			 "current_setting('shopperlake.offset')::pg_snapshot))", ctname);
		if (source_value(l, q, 0, NULL, &value, err, "estimate") != 0)
			return -1;
		res->rows_estimate = value ? atoll(value) : -1;
		free(value);
	} else if (watermark && incremental) {
		const char *col = json_string_value(json_object_get(l->source, "offset_column"));
		const char *ctype = NULL;
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(l->source, "columns"), i, c)
			if (strcmp(json_string_value(json_object_get(c, "name")), col) == 0)
				ctype = json_string_value(json_object_get(c, "type"));
		char *qcol = sqlident_quote(l->src, col);
		/* ctype was validated against a fixed list of type names. */
		/* 'U': these rows are changes, not a snapshot — TRUSTED must not
		 * delete the keys a watermark load did not see */
		bool ok = add_select_list(l, "t", NULL, NULL) &&
			  sql_add(l, "NULL, 'U' FROM ") && sql_add(l, l->qtable) && sql_add(l, " t WHERE t.") &&
			  sql_add(l, qcol) && sql_add(l, " > current_setting('shopperlake.offset')::") && sql_add(l, ctype);
		free(qcol);
		if (!ok)
			return load_fail(err, JOB_TRANSIENT, "out of memory");
	} else {
		res->snapshot = true;
		l->types = l->may_stage ? binary_types(l) : NULL;
		if (!add_select_list(l, "t", NULL, NULL))
			return load_fail(err, JOB_TRANSIENT, "out of memory");
		if (l->types)
			l->sql.len -= 2; /* the last ", ": binary rows carry the source columns only */
		if (!sql_add(l, l->types ? " FROM " : "NULL, NULL FROM ") || !sql_add(l, l->qtable) || !sql_add(l, " t"))
			return load_fail(err, JOB_TRANSIENT, "out of memory");
	}

	/* The offset this load will store, read in the same snapshot as the rows. */
	if (ct) {
		if (source_value(l, "SELECT pg_current_snapshot()::text", 0, NULL, &res->offset_after, err, "offset") != 0)
			return -1;
	} else if (watermark) {
		char *qcol = sqlident_quote(l->src, json_string_value(json_object_get(l->source, "offset_column")));
		char q[512];
		snprintf(q, sizeof q, "SELECT max(%s)::text FROM %s", qcol, l->qtable);
		free(qcol);
		if (source_value(l, q, 0, NULL, &res->offset_after, err, "offset") != 0)
			return -1;
		if (!res->offset_after && before)
			res->offset_after = strdup(before); /* empty table: stay where we were */
	}
	if (res->snapshot) {
		const char *params[1] = {l->qtable};
		if (source_value(l, "SELECT greatest(reltuples, 0)::bigint::text FROM pg_class WHERE oid = to_regclass($1)",
				 1, params, &value, err, "estimate") != 0)
			return -1;
		res->rows_estimate = value ? atoll(value) : -1;
		free(value);
	}
	return 0;
}

static int extract_pg(struct worker_slot *w, const struct claimed_job *job, json_t *source,
		      const char *land_table, struct load_result *res, struct load_error *err)
{
	struct pg_load l = {.lake = w->lake, .source = source, .job_id = job->id};
	char lake_table[160];
	job_lake_table(source, lake_table, sizeof lake_table);
	char *trusted_override = layers_override(w, lake_table, "trusted");
	/* TRUSTED built beside LAND is a snapshot's without soft deletes (those
	 * keep the old keys) and without an override of the TRUSTED step */
	l.may_stage = !trusted_override &&
		      !json_is_true(json_object_get(json_object_get(source, "options"), "soft_delete"));
	free(trusted_override);
	char msg[512];
	int rc = -1;

	if (connect_source(&l, source, err) != 0)
		return -1;
	worker_set_source(w, l.src);
	if (worker_should_stop(w)) {
		load_fail(err, JOB_CANCELLED, "cancelled before it started");
		goto out;
	}
	char *qschema = sqlident_quote(l.src, json_string_value(json_object_get(source, "schema")));
	l.qobject = sqlident_quote(l.src, json_string_value(json_object_get(source, "object")));
	if (!qschema || !l.qobject || asprintf(&l.qtable, "%s.%s", qschema, l.qobject) < 0)
		l.qtable = NULL;
	free(qschema);
	if (!l.qtable) {
		load_fail(err, JOB_TRANSIENT, "out of memory");
		goto out;
	}
	if (db_exec(l.src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", msg, sizeof msg) != 0) {
		source_error(err, l.src, NULL, "begin");
		goto out;
	}
	dynbuf_addstr(&l.sql, "COPY (");
	if (check_catalog(&l, err) != 0 || build_query(&l, job, res, err) != 0)
		goto out;
	atomic_store(&w->rows_estimate, res->rows_estimate);
	if (!dynbuf_addstr(&l.sql, l.types ? ") TO STDOUT (FORMAT binary)" : ") TO STDOUT")) {
		load_fail(err, JOB_TRANSIENT, "out of memory");
		goto out;
	}
	rc = stream_rows(w, &l, land_table, res, err);
out:
	worker_set_source(w, NULL);
	if (l.src)
		PQfinish(l.src); /* read-only: closing ends the transaction */
	dynbuf_free(&l.sql);
	free(l.src_oids);
	free(l.types);
	free(l.qtable);
	free(l.qobject);
	return rc;
}

const struct source_kind source_kind_postgresql = {
	.name = "postgresql",
	.relational = true,
	.default_schema = "public",
	.offset_modes = OFFSET_CHANGE_TRACKING | OFFSET_WATERMARK,
	.default_offset_mode = OFFSET_CHANGE_TRACKING,
	.needs_secret = true,
	.extract = extract_pg,
	.discover = pg_discover,
};
