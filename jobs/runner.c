/* Runs one claimed job: one lake transaction holds the LAND rows, the new
 * offset and the job's DONE state, so a crash at any instant leaves either
 * all of them or none. On failure the transaction is rolled back and the
 * outcome recorded: retried with backoff, failed, cancelled, or (when our
 * own server is stopping) handed back to the queue untouched. */
#include "jobs/runner.h"
#include "jobs/layers/land.h"
#include "jobs/layers/layers.h"
#include "jobs/layers/trusted_stage.h"
#include "jobs/sources/kind.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* shopperlake.job_id, which override files in sql/layers/ read. */
static int set_load_settings(PGconn *lake, long long job_id, char *err, size_t errlen)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", job_id);
	const char *params[1] = {id};
	return db_exec_params(lake, "SELECT set_config('shopperlake.job_id', $1, true)", 1, params, err, errlen);
}

/* Steps recorded from index `from` on were in a transaction that rolled
 * back: they did not happen. */
static void mark_rolled_back(json_t *steps, size_t from)
{
	for (size_t i = from; i < json_array_size(steps); i++) {
		json_t *st = json_array_get(steps, i);
		json_object_set_new(st, "state", json_string(JOB_STATE_FAILED));
		json_object_set_new(st, "detail", json_string("rolled back"));
	}
}

/* A retry of a loaded job keeps the steps of its load and redoes the rest. */
static json_t *steps_to_keep(const struct claimed_job *job)
{
	json_t *kept = json_array();
	size_t i;
	json_t *st;
	json_array_foreach(job->steps, i, st) {
		const char *name = json_string_value(json_object_get(st, "name"));
		const char *state = json_string_value(json_object_get(st, "state"));
		bool load_step = name && (!strcmp(name, STEP_EXTRACT) || !strcmp(name, STEP_LAND) || !strcmp(name, STEP_RAW));
		if (job->loaded && load_step && state && !strcmp(state, JOB_STATE_DONE))
			json_array_append(kept, st);
	}
	return kept;
}

/* Transaction 1: LAND rows, RAW append, new offset and "loaded" mark. */
static int load(struct worker_slot *w, const struct claimed_job *job, json_t *source, const char *lake_table,
		json_t *steps, struct load_error *err)
{
	struct load_result res = {.rows_estimate = -1};
	char started[40], table[256], msg[512];
	const char *why = NULL;
	int rc = -1;
	size_t steps_before = json_array_size(steps);

	util_now_iso(started, sizeof started);
	const char *type = json_string_value(json_object_get(source, "source_type"));
	const struct source_kind *kind = source_kind_find(type);
	if (!kind || !kind->extract)
		return load_fail(err, JOB_PERMANENT, "loading %s sources is not implemented yet", type);
	if (db_exec(w->lake, "BEGIN", msg, sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	if (set_load_settings(w->lake, job->id, msg, sizeof msg) != 0 ||
	    land_prepare(w->lake, source, job->id, table, sizeof table, msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
		goto out;
	}
	if (kind->extract(w, job, source, table, &res, err) != 0)
		goto out;
	json_t *extract_step = job_step(STEP_EXTRACT, JOB_STATE_DONE, started, res.rows_read);
	if (res.wait_seconds > 0)
		json_object_set_new(extract_step, "network_wait_seconds", json_real(res.wait_seconds));
	json_array_append_new(steps, extract_step);
	if (res.notice[0])
		json_object_set_new(extract_step, "notice", json_string(res.notice));
	json_t *land_step = job_step(STEP_LAND, JOB_STATE_DONE, started, res.rows_written);
	json_object_set_new(land_step, "snapshot", json_boolean(res.snapshot));
	if (kind->keeps_rejects)
		json_object_set_new(land_step, "rejected", json_integer(res.rows_rejected));
	json_array_append_new(steps, land_step);

	if (layers_raw(w, job->id, job->source_id, lake_table, res.rows_written, steps, err) != 0)
		goto out;

	const char *before = json_string_value(json_object_get(source, "last_offset"));
	if (queue_loaded_in_tx(w->lake, job, w->name, before, res.offset_after, res.rows_read,
			       res.rows_written, res.rows_estimate, steps, &why) != 0) {
		load_fail(err, worker_should_stop(w) ? JOB_CANCELLED : JOB_TRANSIENT, "%s", why);
		goto out;
	}
	if (db_commit(w->lake, msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake commit failed: %s", msg);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		db_rollback(w->lake);
		mark_rolled_back(steps, steps_before);
	}
	job_settle_files(w, rc != 0);
	/* the typed copy beside LAND committed meanwhile; TRUSTED may take it */
	trusted_stage_finish(res.stage);
	free(res.offset_after);
	return rc;
}

void runner_run(struct worker_slot *w, const struct claimed_job *job)
{
	struct load_error err = {.outcome = JOB_TRANSIENT};
	json_t *steps = steps_to_keep(job);
	size_t kept = json_array_size(steps);
	json_t *source = job->source_id ? queue_source(w->lake, job->source_id) : NULL;
	long long quarantined = 0;
	char started[40];

	util_now_iso(started, sizeof started);
	if (!source) {
		load_fail(&err, job->source_id ? JOB_TRANSIENT : JOB_PERMANENT,
			  job->source_id ? "cannot read the source definition" : "the source was deleted");
		goto failed;
	}
	/* the lake's name of the source's tables in every layer */
	char lake_table[160];
	job_lake_table(source, lake_table, sizeof lake_table);
	if (!job->loaded && load(w, job, source, lake_table, steps, &err) != 0)
		goto failed;
	if (worker_should_stop(w)) {
		load_fail(&err, JOB_CANCELLED, "stopped after the load");
		goto failed;
	}
	if (layers_trusted(w, job->id, job->source_id, lake_table, steps, &quarantined, &err) != 0 ||
	    layers_refined(w, job->id, steps, &err) != 0)
		goto failed;
	if (queue_done(w->lake, job, w->name, steps, quarantined) != 0) {
		load_fail(&err, JOB_CANCELLED, "the job was cancelled or taken back while it ran");
		goto failed;
	}
	log_json(LOG_INFO, "job done", json_pack("{s:I, s:s, s:I}", "job_id", (json_int_t)job->id,
		 "job", job->name, "rows_quarantined", (json_int_t)quarantined));
	goto out;

failed:
	if (atomic_load(&w->cancel))
		load_fail(&err, JOB_CANCELLED, "cancelled by request");
	else if (worker_pool_stopping(w))
		load_fail(&err, JOB_INTERRUPTED, "the server stopped; the job goes back to the queue");
	if (!job->loaded && json_array_size(steps) == kept)
		json_array_append_new(steps, job_step(STEP_EXTRACT, err.outcome == JOB_CANCELLED ? JOB_STATE_CANCELLED
						      : JOB_STATE_FAILED, started, atomic_load(&w->rows_read)));
	queue_record_failure(w->lake, job, w->name, err.outcome, err.message, steps);
	log_json(err.outcome == JOB_PERMANENT ? LOG_ERROR : LOG_WARN, "job attempt ended",
		 json_pack("{s:I, s:s, s:i, s:s, s:s}", "job_id", (json_int_t)job->id, "job", job->name,
			   "attempt", job->attempt, "outcome",
			   (const char *[]){"transient", "permanent", "cancelled", "interrupted"}[err.outcome],
			   "error", err.message));
out:
	json_decref(steps);
	json_decref(source);
}
