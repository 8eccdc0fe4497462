/* SQL of the worker side of the queue. Claims serialise on a transaction
 * advisory lock: claiming is quick, and the lock is what keeps "one load per
 * source" and "max_parallel per pipeline run" true across several servers
 * (SKIP LOCKED alone cannot see a concurrent claim's not-yet-committed row). */
#include "jobs/queue.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_LOCK_KEY "7352119002"

static const char sql_claim[] =
	"WITH cand AS ("
	"  SELECT j.id FROM control.jobs j"
	"  WHERE j.state = 'JOB_STATE_QUEUED' AND j.not_before <= now()"
	"    AND NOT EXISTS (SELECT 1 FROM control.jobs r WHERE r.source_id = j.source_id"
	"                    AND r.state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING'))"
	"    AND NOT EXISTS (SELECT 1 FROM control.jobs q WHERE q.source_id = j.source_id"
	"                    AND q.state = 'JOB_STATE_QUEUED' AND q.id < j.id)"
	"    AND (j.pipeline_run_id IS NULL OR"
	"         (SELECT count(*) FROM control.jobs p WHERE p.pipeline_run_id = j.pipeline_run_id"
	"          AND p.state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING'))"
	"         < (SELECT max_parallel FROM control.pipeline_runs pr WHERE pr.id = j.pipeline_run_id))"
	"  ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" UPDATE control.jobs j SET state = 'JOB_STATE_RUNNING', worker = $1, heartbeat_at = now(),"
	/* the statement's time, not the transaction's: the transaction began
	 * before the lock wait, maybe before the job this one waited for ended */
	"   started_at = coalesce(j.started_at, statement_timestamp()), attempt = j.attempt + 1, error = NULL,"
	"   error_kind = NULL"
	" FROM cand WHERE j.id = cand.id"
	" RETURNING j.id, coalesce(j.source_id, 0), j.attempt, j.max_attempts, j.load_type, j.name,"
	"   j.loaded_at IS NOT NULL, j.steps";

static const char sql_offset[] =
	"UPDATE control.sources SET last_offset = $2, last_loaded_at = now() "
	"WHERE id = $1 AND last_offset IS NOT DISTINCT FROM $3";
static const char sql_loaded[] =
	"UPDATE control.jobs SET loaded_at = clock_timestamp(), heartbeat_at = now(), "
	"rows_read = $4, rows_written = $5, rows_estimate = $6, offset_before = $7, offset_after = $8, "
	"steps = $9::jsonb "
	"WHERE id = $1 AND worker = $2 AND attempt = $3 AND state = 'JOB_STATE_RUNNING'";
static const char sql_done[] =
	"UPDATE control.jobs SET state = 'JOB_STATE_DONE', finished_at = now(), heartbeat_at = now(), "
	"steps = $4::jsonb, rows_quarantined = $5, error = NULL, error_kind = NULL "
	"WHERE id = $1 AND worker = $2 AND attempt = $3 AND state = 'JOB_STATE_RUNNING'";

/* Retry after min(2^attempt, 60) s, with up to 50 % jitter so a fleet of
 * failed jobs does not come back at the same instant. */
static const char sql_failure[] =
	"UPDATE control.jobs SET "
	" state = CASE WHEN $4 = 'interrupted' THEN 'JOB_STATE_QUEUED'"
	"              WHEN $4 = 'cancelled' OR state = 'JOB_STATE_CANCELLING' THEN 'JOB_STATE_CANCELLED'"
	"              WHEN $4 = 'transient' AND attempt < max_attempts THEN 'JOB_STATE_QUEUED'"
	"              ELSE 'JOB_STATE_FAILED' END,"
	" attempt = CASE WHEN $4 = 'interrupted' THEN attempt - 1 ELSE attempt END,"
	" not_before = now() + make_interval(secs => least(power(2, attempt), 60) * (1 + random() / 2)),"
	" finished_at = CASE WHEN $4 = 'interrupted' OR ($4 = 'transient' AND attempt < max_attempts"
	"                     AND state <> 'JOB_STATE_CANCELLING') THEN NULL ELSE now() END,"
	" error = $5, error_kind = CASE WHEN $4 = 'interrupted' THEN NULL"
	"                              WHEN state = 'JOB_STATE_CANCELLING' THEN 'cancelled' ELSE $4 END,"
	" steps = coalesce($6::jsonb, steps), worker = NULL"
	" WHERE id = $1 AND worker = $2 AND attempt = $3 AND state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING')";

static const char sql_heartbeat[] =
	"UPDATE control.jobs SET heartbeat_at = now(), rows_read = $3, rows_estimate = $4 "
	"WHERE id = $1 AND worker = $2 AND state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING') "
	"RETURNING state";

static const char sql_local_workers[] =
	"SELECT DISTINCT worker FROM control.jobs "
	"WHERE state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING') AND worker LIKE $1 || ':%'";

static const char sql_reap[] =
	"UPDATE control.jobs SET "
	" state = CASE WHEN state = 'JOB_STATE_CANCELLING' THEN 'JOB_STATE_CANCELLED'"
	"              WHEN attempt >= max_attempts THEN 'JOB_STATE_FAILED' ELSE 'JOB_STATE_QUEUED' END,"
	" finished_at = CASE WHEN state = 'JOB_STATE_CANCELLING' OR attempt >= max_attempts THEN now() END,"
	" error_kind = CASE WHEN state = 'JOB_STATE_CANCELLING' THEN 'cancelled' ELSE 'transient' END,"
	" error = 'worker ' || worker || ' stopped answering (last heartbeat ' || heartbeat_at || ')',"
	" not_before = now(), worker = NULL"
	" WHERE state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING')"
	"   AND (heartbeat_at < now() - make_interval(secs => $1::int) OR worker IN (SELECT json_array_elements_text($2::json)))"
	" RETURNING id, name, state";

int queue_claim(PGconn *lake, const char *worker, struct claimed_job *job)
{
	char err[256];
	int rc = -1;
	if (db_exec(lake, "BEGIN", err, sizeof err) != 0)
		return -1;
	if (db_exec(lake, "SELECT pg_advisory_xact_lock(" CLAIM_LOCK_KEY ")", err, sizeof err) != 0)
		goto out;
	const char *params[1] = {worker};
	PGresult *r = PQexecParams(lake, sql_claim, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_json(LOG_ERROR, "claim failed", json_pack("{s:s}", "error", PQresultErrorMessage(r)));
		PQclear(r);
		goto out;
	}
	rc = PQntuples(r) == 1;
	if (rc) {
		memset(job, 0, sizeof *job);
		job->id = atoll(PQgetvalue(r, 0, 0));
		job->source_id = atoll(PQgetvalue(r, 0, 1));
		job->attempt = atoi(PQgetvalue(r, 0, 2));
		job->max_attempts = atoi(PQgetvalue(r, 0, 3));
		snprintf(job->load_type, sizeof job->load_type, "%s", PQgetvalue(r, 0, 4));
		snprintf(job->name, sizeof job->name, "%s", PQgetvalue(r, 0, 5));
		job->loaded = strcmp(PQgetvalue(r, 0, 6), "t") == 0;
		job->steps = json_loads(PQgetvalue(r, 0, 7), 0, NULL);
		if (!json_is_array(job->steps)) {
			json_decref(job->steps);
			job->steps = json_array();
		}
	}
	PQclear(r);
	if (db_commit(lake, err, sizeof err) == 0)
		return rc;
	rc = -1;
out:
	db_rollback(lake);
	return rc;
}

void queue_job_free(struct claimed_job *job)
{
	json_decref(job->steps);
	job->steps = NULL;
}

int queue_loaded_in_tx(PGconn *lake, const struct claimed_job *job, const char *worker,
		       const char *before, const char *after, long long rows_read,
		       long long rows_written, long long rows_estimate, json_t *steps, const char **why)
{
	char id[24], src[24], attempt[16], nread[24], nwritten[24], nest[24];
	snprintf(id, sizeof id, "%lld", job->id);
	snprintf(src, sizeof src, "%lld", job->source_id);
	snprintf(attempt, sizeof attempt, "%d", job->attempt);
	snprintf(nread, sizeof nread, "%lld", rows_read);
	snprintf(nwritten, sizeof nwritten, "%lld", rows_written);
	snprintf(nest, sizeof nest, "%lld", rows_estimate);
	char *steps_text = json_dumps(steps, JSON_COMPACT);

	int rc = -1;
	const char *op[3] = {src, after, before};
	PGresult *r = PQexecParams(lake, sql_offset, 3, NULL, op, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(r), "1") != 0) {
		*why = PQresultStatus(r) == PGRES_COMMAND_OK
			? "the source's offset was changed while the load ran" : "could not store the offset";
		goto out;
	}
	PQclear(r);
	const char *jp[9] = {id, worker, attempt, nread, nwritten, rows_estimate >= 0 ? nest : NULL,
			     before, after, steps_text};
	r = PQexecParams(lake, sql_loaded, 9, NULL, jp, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(r), "1") != 0) {
		*why = PQresultStatus(r) == PGRES_COMMAND_OK
			? "the job was cancelled or taken back while it ran" : "could not mark the job done";
		goto out;
	}
	rc = 0;
out:
	PQclear(r);
	free(steps_text);
	return rc;
}

int queue_done(PGconn *lake, const struct claimed_job *job, const char *worker, json_t *steps,
	       long long rows_quarantined)
{
	char id[24], attempt[16], quarantined[24];
	snprintf(id, sizeof id, "%lld", job->id);
	snprintf(attempt, sizeof attempt, "%d", job->attempt);
	snprintf(quarantined, sizeof quarantined, "%lld", rows_quarantined);
	char *steps_text = json_dumps(steps, JSON_COMPACT);
	const char *params[5] = {id, worker, attempt, steps_text, quarantined};
	PGresult *r = PQexecParams(lake, sql_done, 5, NULL, params, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(r), "1") == 0 ? 0 : -1;
	PQclear(r);
	free(steps_text);
	return rc;
}

void queue_record_failure(PGconn *lake, const struct claimed_job *job, const char *worker,
			  enum job_outcome outcome, const char *error, json_t *steps)
{
	static const char *const kinds[] = {"transient", "permanent", "cancelled", "interrupted"};
	char id[24], attempt[16];
	snprintf(id, sizeof id, "%lld", job->id);
	snprintf(attempt, sizeof attempt, "%d", job->attempt);
	char *steps_text = steps ? json_dumps(steps, JSON_COMPACT) : NULL;
	/* the error may quote a source's bytes: keep it valid text or it is not recorded */
	char *text = strdup(error ? error : "");
	if (text)
		util_utf8_repair(text);
	const char *params[6] = {id, worker, attempt, kinds[outcome], text ? text : "(out of memory)", steps_text};
	PGresult *r = PQexecParams(lake, sql_failure, 6, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_json(LOG_ERROR, "cannot record job failure",
			 json_pack("{s:I, s:s}", "job_id", (json_int_t)job->id, "error", PQresultErrorMessage(r)));
	PQclear(r);
	free(steps_text);
	free(text);
}

int queue_heartbeat(PGconn *lake, long long job_id, const char *worker, long long rows_read,
		    long long rows_estimate, bool *cancelling)
{
	char id[24], nread[24], nest[24];
	snprintf(id, sizeof id, "%lld", job_id);
	snprintf(nread, sizeof nread, "%lld", rows_read);
	snprintf(nest, sizeof nest, "%lld", rows_estimate);
	const char *params[4] = {id, worker, nread, rows_estimate >= 0 ? nest : NULL};
	PGresult *r = PQexecParams(lake, sql_heartbeat, 4, NULL, params, NULL, NULL, 0);
	int rc = -1;
	*cancelling = false;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		*cancelling = strcmp(PQgetvalue(r, 0, 0), JOB_STATE_CANCELLING) == 0;
		rc = 0;
	}
	PQclear(r);
	return rc;
}

/* "host:pid:slot" of a process on this host that has exited. */
static bool local_worker_dead(const char *worker, size_t host_len)
{
	long pid = strtol(worker + host_len + 1, NULL, 10);
	if (pid <= 0)
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int queue_reap(PGconn *lake, int stale_secs, const char *hostname)
{
	const char *hp[1] = {hostname};
	PGresult *r = PQexecParams(lake, sql_local_workers, 1, NULL, hp, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	/* An array literal of the dead local workers; names are host:pid:slot. */
	json_t *dead = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		if (local_worker_dead(PQgetvalue(r, i, 0), strlen(hostname)))
			json_array_append_new(dead, json_string(PQgetvalue(r, i, 0)));
	PQclear(r);

	char secs[16];
	snprintf(secs, sizeof secs, "%d", stale_secs);
	char *dead_text = json_dumps(dead, JSON_COMPACT);
	json_decref(dead);
	const char *rp[2] = {secs, dead_text};
	r = PQexecParams(lake, sql_reap, 2, NULL, rp, NULL, NULL, 0);
	free(dead_text);
	int n = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		n = PQntuples(r);
		for (int i = 0; i < n; i++)
			log_json(LOG_WARN, "took back a job whose worker stopped",
				 json_pack("{s:I, s:s, s:s}", "job_id", (json_int_t)atoll(PQgetvalue(r, i, 0)),
					   "job", PQgetvalue(r, i, 1), "state", PQgetvalue(r, i, 2)));
	}
	PQclear(r);
	return n;
}

json_t *queue_source(PGconn *lake, long long source_id)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", source_id);
	const char *params[1] = {id};
	PGresult *r = PQexecParams(lake, "SELECT control.source_json(s) FROM control.sources s WHERE id = $1",
				   1, NULL, params, NULL, NULL, 0);
	json_t *src = NULL;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		src = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	PQclear(r);
	return src;
}
