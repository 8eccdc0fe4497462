/* The typed tables built beside LAND (see trusted_stage.h). Each COPY is
 * written by a thread of its own (lib/copy_writer.h), so the load's thread
 * goes on feeding LAND while the stage's backends take their rows; their end
 * (key indexes, commits) runs on another, while the load commits. */
#include "jobs/layers/trusted_stage.h"
#include "lib/copy_writer.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/sqlident.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one table's COPY on a connection of its own */
struct stage_copy {
	PGconn *conn;
	struct copy_writer *writer;
	long long sent;              /* rows handed over (a child table's) */
};

struct trusted_stage {
	char source_id[24], job_id[24];
	struct stage_copy main;
	struct stage_copy children[TRUSTED_STAGE_CHILDREN];
	int n_children;
	bool changes;                /* a stage of changes (trusted_stage_begin_changes) */
	char *twice;                 /* rows whose key may have landed twice (JSON) */
	bool keep, kept;             /* asked to keep; committed */
	long long land_rows;
	pthread_t ending;            /* stage_ending, while the load commits */
	bool ending_started;
};

/* Connects, makes table `child` (0: the main one) with
 * layers.trusted_stage_create and starts its COPY: binary for a snapshot
 * (`children` NULL), text for changes. */
static bool copy_start(struct stage_copy *c, struct worker_slot *w, const struct trusted_stage *s, const char *oid,
		       const char *columns, const char *children, int child, char *msg, size_t msglen)
{
	if (!(c->conn = db_connect(w->app->cfg.database_url, "shopperlake-stage", msg, msglen)))
		return false;
	char n[12];
	snprintf(n, sizeof n, "%d", child);
	const char *params[6] = {s->source_id, s->job_id, oid, columns, children, n};
	if (db_exec(c->conn, "BEGIN", msg, msglen) != 0)
		return false;
	PGresult *r = PQexecParams(c->conn,
				   "SELECT layers.trusted_stage_create($1, $2, $3, $4::jsonb, $5::jsonb, $6::integer)", 6,
				   NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(msg, msglen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		return false;
	}
	size_t len = strlen(PQgetvalue(r, 0, 0)) + 64;
	char *copy = malloc(len);
	if (copy)
		snprintf(copy, len, "COPY %s FROM STDIN (FORMAT %s, FREEZE)", PQgetvalue(r, 0, 0),
			 children ? "text" : "binary");
	PQclear(r);
	if (!copy) {
		snprintf(msg, msglen, "out of memory");
		return false;
	}
	r = PQexec(c->conn, copy);
	free(copy);
	bool copying = PQresultStatus(r) == PGRES_COPY_IN;
	if (!copying)
		snprintf(msg, msglen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return copying && (c->writer = copy_writer_start(c->conn)) != NULL;
}

/* Ends a COPY: sends what is queued and the end (or, without `keep`, an
 * error that rolls it back). Returns the rows it took, -1 when it failed. */
static long long copy_end(struct stage_copy *c, bool keep, char *msg, size_t msglen)
{
	if (!c->conn)
		return -1;
	bool ok = c->writer && copy_writer_finish(c->writer, !keep) && keep;
	c->writer = NULL;
	long long rows = -1;
	if (PQputCopyEnd(c->conn, ok ? NULL : "the load did not keep it") == 1) {
		PGresult *r;
		while ((r = PQgetResult(c->conn))) {
			if (PQresultStatus(r) == PGRES_COMMAND_OK)
				rows = atoll(PQcmdTuples(r));
			else if (ok && !msg[0])
				snprintf(msg, msglen, "%s", PQresultErrorMessage(r));
			PQclear(r);
		}
	}
	return ok ? rows : -1;
}

static void close_all(struct trusted_stage *s)
{
	for (int i = -1; i < s->n_children; i++) {
		struct stage_copy *c = i < 0 ? &s->main : &s->children[i];
		if (c->writer)
			copy_writer_finish(c->writer, true);
		c->writer = NULL;
		if (c->conn)
			PQfinish(c->conn); /* an open transaction ends rolled back */
		c->conn = NULL;
	}
}

/* Keys and commits one table: layers.trusted_stage_done for the main table
 * (child 0) or child n, with its rows and, for a stage of changes, the rows
 * whose key may have landed twice. */
static bool table_done(struct trusted_stage *s, struct stage_copy *c, int child, long long rows, char *msg,
		       size_t msglen)
{
	char count[24], n[12];
	snprintf(count, sizeof count, "%lld", rows);
	snprintf(n, sizeof n, "%d", child);
	const char *params[5] = {s->source_id, s->job_id, count, n, s->twice};
	return db_exec_params(c->conn, "SELECT layers.trusted_stage_done($1, $2, $3, $4::integer, $5::jsonb)", 5,
			      params, msg, msglen) == 0 &&
	       db_commit(c->conn, msg, msglen) == 0;
}

struct child_ending {
	struct trusted_stage *s;
	int child;                   /* 0-based */
	pthread_t thread;
	bool started, kept;
	char msg[256];
};

static void *child_ending(void *arg)
{
	struct child_ending *e = arg;
	struct stage_copy *c = &e->s->children[e->child];
	e->kept = table_done(e->s, c, e->child + 1, c->sent, e->msg, sizeof e->msg);
	return NULL;
}

/* A stage of changes: each table drops the older rows of the keys that
 * landed twice, is keyed and committed on its own connection, the children
 * on threads of their own (one child's 400 000 rows: 0.5 s) while this one
 * does the main table's; then the main table is vacuumed. */
static bool changes_done(struct trusted_stage *s, long long rows, char *msg, size_t msglen)
{
	if (!s->twice) {
		snprintf(msg, msglen, "too many keys may have landed twice");
		return false;
	}
	struct child_ending ends[TRUSTED_STAGE_CHILDREN] = {0};
	for (int i = 0; i < s->n_children; i++) {
		ends[i] = (struct child_ending){.s = s, .child = i};
		ends[i].started = pthread_create(&ends[i].thread, NULL, child_ending, &ends[i]) == 0;
		if (!ends[i].started)
			child_ending(&ends[i]);
	}
	bool ok = table_done(s, &s->main, 0, rows, msg, msglen);
	for (int i = 0; i < s->n_children; i++) {
		if (ends[i].started)
			pthread_join(ends[i].thread, NULL);
		if (ok && !ends[i].kept) {
			snprintf(msg, msglen, "%s", ends[i].msg);
			ok = false;
		}
	}
	/* the rows deleted there would otherwise be pruned by the first scan
	 * of the new TRUSTED table, the job's checks (200 000 posts: 0.35 s
	 * where the next scan takes 0.12 s), and its pages would not be all
	 * visible; not before the children end: their snapshots keep the
	 * deleted rows */
	if (ok && strlen(s->twice) > 2) {
		char name[64], sql[128], vmsg[128] = "cannot quote the name";
		snprintf(name, sizeof name, "stage-s%s-j%s", s->source_id, s->job_id);
		char *quoted = sqlident_quote(s->main.conn, name);
		if (quoted)
			snprintf(sql, sizeof sql, "VACUUM land.%s", quoted);
		if (!quoted || db_exec(s->main.conn, sql, vmsg, sizeof vmsg) != 0)
			log_json(LOG_INFO, "the typed copy beside LAND was not vacuumed",
				 json_pack("{s:s, s:s}", "table", name, "reason", vmsg));
		free(quoted);
	}
	return ok;
}

/* The stage's last part, on a thread of its own: ends the COPYs and, when
 * kept, keys and commits the tables (layers.trusted_stage_done). */
static void *stage_ending(void *arg)
{
	struct trusted_stage *s = arg;
	bool keep = s->keep;
	char msg[256] = "";
	for (int i = 0; i < s->n_children; i++)
		keep = copy_end(&s->children[i], keep, msg, sizeof msg) == s->children[i].sent && keep;
	long long rows = copy_end(&s->main, keep, msg, sizeof msg);
	keep = keep && rows == s->land_rows;
	if (keep && (s->changes ? changes_done(s, rows, msg, sizeof msg)
				: table_done(s, &s->main, 0, rows, msg, sizeof msg)))
		s->kept = true;
	if (s->keep && !s->kept) {
		msg[strcspn(msg, "\n")] = 0;
		log_json(LOG_WARN, "the typed copy beside LAND was not kept; TRUSTED types RAW's rows instead",
			 json_pack("{s:I, s:I, s:s}", "rows", (json_int_t)rows, "land_rows", (json_int_t)s->land_rows,
				   "reason", msg[0] ? msg : "row counts differ"));
	}
	close_all(s);
	return NULL;
}

/* The LAND partition's OID, which RAW's partition keeps: it names this
 * attempt of the load (a retry makes a new partition). */
static bool land_oid(PGconn *lake, const char *land_table, char *oid, size_t len)
{
	const char *lp[1] = {land_table};
	PGresult *r = PQexecParams(lake, "SELECT $1::regclass::oid", 1, NULL, lp, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (ok)
		snprintf(oid, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok;
}

static struct trusted_stage *stage_begin(struct worker_slot *w, json_t *source, long long job_id,
					 const char *land_table, json_t *children)
{
	char msg[256] = "cannot start", oid[24];
	char *columns = json_dumps(json_object_get(source, "columns"), JSON_COMPACT);
	char *child_defs = children ? json_dumps(children, JSON_COMPACT) : NULL;
	struct trusted_stage *s = calloc(1, sizeof *s);
	bool ok = s && columns && (!children || child_defs) && land_oid(w->lake, land_table, oid, sizeof oid);
	if (ok) {
		snprintf(s->source_id, sizeof s->source_id, "%lld",
			 (long long)json_integer_value(json_object_get(source, "id")));
		snprintf(s->job_id, sizeof s->job_id, "%lld", job_id);
		s->changes = children != NULL;
		ok = copy_start(&s->main, w, s, oid, columns, child_defs, 0, msg, sizeof msg);
		for (size_t i = 0; ok && i < json_array_size(children); i++) {
			s->n_children++;
			ok = copy_start(&s->children[i], w, s, oid, columns, child_defs, (int)i + 1, msg, sizeof msg);
		}
	}
	free(columns);
	free(child_defs);
	if (ok)
		return s;
	msg[strcspn(msg, "\n")] = 0;
	log_json(LOG_WARN, "no typed copy beside LAND; TRUSTED types RAW's rows instead",
		 json_pack("{s:I, s:s}", "job_id", (json_int_t)job_id, "reason", msg));
	if (s)
		close_all(s);
	free(s);
	return NULL;
}

struct trusted_stage *trusted_stage_begin(struct worker_slot *w, json_t *source, long long job_id,
					  const char *land_table)
{
	return stage_begin(w, source, job_id, land_table, NULL);
}

/* Whether the source's TRUSTED table is missing or empty. */
static bool trusted_empty(PGconn *lake, json_t *source)
{
	char table[200];
	job_lake_table(source, table, sizeof table);
	const char *params[1] = {table};
	PGresult *r = PQexecParams(lake, "SELECT CASE WHEN to_regclass(format('trusted.%I', $1::text)) IS NULL THEN true "
				   "ELSE NOT layers.has_rows(format('trusted.%I', $1::text)::regclass) END",
				   1, NULL, params, NULL, NULL, 0);
	bool empty = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return empty;
}

struct trusted_stage *trusted_stage_begin_changes(struct worker_slot *w, json_t *source, long long job_id,
						  const char *land_table)
{
	json_t *children = json_object_get(json_object_get(source, "options"), "children");
	json_t *none = json_array();
	struct trusted_stage *s = NULL;
	if (json_array_size(children) <= TRUSTED_STAGE_CHILDREN && trusted_empty(w->lake, source))
		s = stage_begin(w, source, job_id, land_table, json_is_array(children) ? children : none);
	json_decref(none);
	return s;
}

void trusted_stage_put(struct trusted_stage *s, const char *bytes, size_t n)
{
	if (s)
		copy_writer_put(s->main.writer, bytes, n);
}

void trusted_stage_put_child(struct trusted_stage *s, int child, const char *bytes, size_t n, long long rows)
{
	if (s && child >= 0 && child < s->n_children) {
		copy_writer_put(s->children[child].writer, bytes, n);
		s->children[child].sent += rows;
	}
}

void trusted_stage_twice(struct trusted_stage *s, char *list)
{
	if (s) {
		free(s->twice);
		s->twice = list;
	} else {
		free(list);
	}
}

struct trusted_stage *trusted_stage_end(struct trusted_stage *s, bool keep, long long land_rows)
{
	if (!s)
		return NULL;
	s->keep = keep;
	s->land_rows = land_rows;
	if (keep && pthread_create(&s->ending, NULL, stage_ending, s) == 0) {
		s->ending_started = true;
		return s;
	}
	stage_ending(s);
	if (keep)
		return s; /* (no thread: it ended here) */
	free(s->twice);
	free(s);
	return NULL;
}

bool trusted_stage_finish(struct trusted_stage *s)
{
	if (!s)
		return false;
	if (s->ending_started)
		pthread_join(s->ending, NULL);
	bool kept = s->kept;
	free(s->twice);
	free(s);
	return kept;
}
