/* Runs one claimed job: one lake transaction holds the LAND rows, the new
 * offset and the job's DONE state, so a crash at any instant leaves either
 * all of them or none. On failure the transaction is rolled back and the
 * outcome recorded: retried with backoff, failed, cancelled, or (when our
 * own server is stopping) handed back to the queue untouched. */
#include "jobs/extract.h"
#include "jobs/land.h"
#include "server/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int load_fail(struct load_error *err, enum job_outcome outcome, const char *fmt, ...)
{
	va_list ap;
	err->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	err->message[strcspn(err->message, "\n")] = 0;
	return -1;
}

static void now_iso(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static extract_fn extractor_for(const char *source_type)
{
	if (strcmp(source_type, "postgresql") == 0)
		return extract_pg;
	return NULL;
}

static json_t *step(const char *name, const char *state, const char *started, long long rows)
{
	char finished[40];
	now_iso(finished, sizeof finished);
	return json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", name, "state", state, "started_at", started,
			 "finished_at", finished, "rows", (json_int_t)rows);
}

/* The transaction settings that LAND's _job_id and _partitiontime default to. */
static int set_load_settings(PGconn *lake, long long job_id, char *err, size_t errlen)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", job_id);
	const char *params[1] = {id};
	PGresult *r = PQexecParams(lake,
		"SELECT set_config('shopperlake.job_id', $1, true), "
		"set_config('shopperlake.partition_time', date_trunc('day', now())::text, true)",
		1, NULL, params, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
	if (rc)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

void runner_run(struct worker_slot *w, const struct claimed_job *job)
{
	struct load_error err = {.outcome = JOB_TRANSIENT};
	struct load_result res = {.rows_estimate = -1};
	json_t *steps = json_array();
	json_t *source = NULL;
	char started[40], table[256], msg[512];
	const char *why = NULL;
	bool in_tx = false;

	now_iso(started, sizeof started);
	source = job->source_id ? queue_source(w->lake, job->source_id) : NULL;
	if (!source) {
		load_fail(&err, job->source_id ? JOB_TRANSIENT : JOB_PERMANENT,
			  job->source_id ? "cannot read the source definition" : "the source was deleted");
		goto failed;
	}
	const char *type = json_string_value(json_object_get(source, "source_type"));
	extract_fn extract = extractor_for(type);
	if (!extract) {
		load_fail(&err, JOB_PERMANENT, "loading %s sources is not implemented yet", type);
		goto failed;
	}
	if (db_exec(w->lake, "BEGIN", msg, sizeof msg) != 0) {
		load_fail(&err, JOB_TRANSIENT, "lake: %s", msg);
		goto failed;
	}
	in_tx = true;
	if (set_load_settings(w->lake, job->id, msg, sizeof msg) != 0 ||
	    land_prepare(w->lake, source, table, sizeof table, msg, sizeof msg) != 0) {
		load_fail(&err, JOB_TRANSIENT, "lake: %s", msg);
		goto failed;
	}
	if (extract(w, job, source, table, &res, &err) != 0)
		goto failed;

	json_array_append_new(steps, step("extract", "JOB_STATE_DONE", started, res.rows_read));
	json_array_append_new(steps, step("land", "JOB_STATE_DONE", started, res.rows_written));
	const char *before = json_string_value(json_object_get(source, "last_offset"));
	if (queue_finish_in_tx(w->lake, job, w->name, before, res.offset_after, res.rows_read,
			       res.rows_written, res.rows_estimate, steps, &why) != 0) {
		load_fail(&err, worker_should_stop(w) ? JOB_CANCELLED : JOB_TRANSIENT, "%s", why);
		goto failed;
	}
	if (db_exec(w->lake, "COMMIT", msg, sizeof msg) != 0) {
		in_tx = false;
		load_fail(&err, JOB_TRANSIENT, "lake commit failed: %s", msg);
		goto failed;
	}
	log_json(LOG_INFO, "job done", json_pack("{s:I, s:s, s:I, s:I}", "job_id", (json_int_t)job->id,
		 "job", job->name, "rows_read", (json_int_t)res.rows_read, "rows_written", (json_int_t)res.rows_written));
	goto out;

failed:
	if (in_tx)
		db_exec(w->lake, "ROLLBACK", msg, sizeof msg);
	if (atomic_load(&w->cancel))
		load_fail(&err, JOB_CANCELLED, "cancelled by request");
	else if (worker_pool_stopping(w))
		load_fail(&err, JOB_INTERRUPTED, "the server stopped; the job goes back to the queue");
	json_array_append_new(steps, step("extract", err.outcome == JOB_CANCELLED ? "JOB_STATE_CANCELLED"
						    : "JOB_STATE_FAILED", started, atomic_load(&w->rows_read)));
	queue_record_failure(w->lake, job, w->name, err.outcome, err.message, steps);
	log_json(err.outcome == JOB_PERMANENT ? LOG_ERROR : LOG_WARN, "job attempt ended",
		 json_pack("{s:I, s:s, s:i, s:s, s:s}", "job_id", (json_int_t)job->id, "job", job->name,
			   "attempt", job->attempt, "outcome",
			   (const char *[]){"transient", "permanent", "cancelled", "interrupted"}[err.outcome],
			   "error", err.message));
out:
	free(res.offset_after);
	json_decref(steps);
	json_decref(source);
}
