/* The typed table built beside LAND (see trusted_stage.h). Its COPY is
 * written by a thread of its own (lib/copy_writer.h), so the load's thread
 * goes on feeding LAND while the stage's backend takes its rows; its end
 * (key index, commit) runs on another, while the load commits. */
#include "jobs/layers/trusted_stage.h"
#include "lib/copy_writer.h"
#include "lib/db.h"
#include "lib/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct trusted_stage {
	PGconn *conn;
	char source_id[24], job_id[24];
	struct copy_writer *writer;
	bool keep, kept;             /* asked to keep; committed */
	long long land_rows;
	pthread_t ending;            /* stage_ending, while the load commits */
	bool ending_started;
};

static bool start(struct trusted_stage *s, struct worker_slot *w, const char *oid, const char *columns, char *msg,
		  size_t msglen)
{
	if (!(s->conn = db_connect(w->app->cfg.database_url, "shopperlake-stage", msg, msglen)))
		return false;
	const char *params[4] = {s->source_id, s->job_id, oid, columns};
	if (db_exec(s->conn, "BEGIN", msg, msglen) != 0)
		return false;
	PGresult *r = PQexecParams(s->conn, "SELECT layers.trusted_stage_create($1, $2, $3, $4::jsonb)", 4, NULL,
				   params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(msg, msglen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		return false;
	}
	char copy[300];
	snprintf(copy, sizeof copy, "COPY %s FROM STDIN (FORMAT binary, FREEZE)", PQgetvalue(r, 0, 0));
	PQclear(r);
	r = PQexec(s->conn, copy);
	bool copying = PQresultStatus(r) == PGRES_COPY_IN;
	if (!copying)
		snprintf(msg, msglen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return copying && (s->writer = copy_writer_start(s->conn)) != NULL;
}

struct trusted_stage *trusted_stage_begin(struct worker_slot *w, json_t *source, long long job_id,
					  const char *land_table)
{
	char msg[256] = "cannot start", oid[24];
	/* the LAND partition's OID, which RAW's partition keeps: it names this
	 * attempt of the load (a retry makes a new partition) */
	const char *lp[1] = {land_table};
	PGresult *r = PQexecParams(w->lake, "SELECT $1::regclass::oid", 1, NULL, lp, NULL, NULL, 0);
	bool have_oid = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (have_oid)
		snprintf(oid, sizeof oid, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	char *columns = json_dumps(json_object_get(source, "columns"), JSON_COMPACT);
	struct trusted_stage *s = calloc(1, sizeof *s);
	if (s) {
		snprintf(s->source_id, sizeof s->source_id, "%lld",
			 (long long)json_integer_value(json_object_get(source, "id")));
		snprintf(s->job_id, sizeof s->job_id, "%lld", job_id);
	}
	if (have_oid && columns && s && start(s, w, oid, columns, msg, sizeof msg)) {
		free(columns);
		return s;
	}
	msg[strcspn(msg, "\n")] = 0;
	log_json(LOG_WARN, "no typed copy beside LAND; TRUSTED types RAW's rows instead",
		 json_pack("{s:I, s:s}", "job_id", (json_int_t)job_id, "reason", msg));
	free(columns);
	if (s) {
		if (s->conn)
			PQfinish(s->conn);
		free(s);
	}
	return NULL;
}

void trusted_stage_put(struct trusted_stage *s, const char *bytes, size_t n)
{
	if (s)
		copy_writer_put(s->writer, bytes, n);
}

/* The stage's last part, on a thread of its own: ends the COPY and, when
 * kept, builds the key and commits (layers.trusted_stage_done). */
static void *stage_ending(void *arg)
{
	struct trusted_stage *s = arg;
	bool keep = copy_writer_finish(s->writer, !s->keep) && s->keep;
	long long rows = -1;
	char msg[256] = "";
	if (PQputCopyEnd(s->conn, keep ? NULL : "the load did not keep it") == 1) {
		PGresult *r;
		while ((r = PQgetResult(s->conn))) {
			if (PQresultStatus(r) == PGRES_COMMAND_OK)
				rows = atoll(PQcmdTuples(r));
			else if (keep && !msg[0])
				snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
			PQclear(r);
		}
	}
	char count[24];
	snprintf(count, sizeof count, "%lld", rows);
	const char *params[3] = {s->source_id, s->job_id, count};
	if (keep && rows == s->land_rows &&
	    db_exec_params(s->conn, "SELECT layers.trusted_stage_done($1, $2, $3)", 3, params, msg, sizeof msg) == 0 &&
	    db_commit(s->conn, msg, sizeof msg) == 0)
		s->kept = true;
	if (keep && !s->kept) {
		msg[strcspn(msg, "\n")] = 0;
		log_json(LOG_WARN, "the typed copy beside LAND was not kept; TRUSTED types RAW's rows instead",
			 json_pack("{s:I, s:I, s:s}", "rows", (json_int_t)rows, "land_rows", (json_int_t)s->land_rows,
				   "reason", msg[0] ? msg : "row counts differ"));
	}
	PQfinish(s->conn); /* an open transaction ends rolled back */
	s->conn = NULL;
	return NULL;
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
	free(s);
	return kept;
}
