/* TRUSTED and checks for one source: one lake transaction, so a failed
 * check leaves the previous TRUSTED table untouched (nothing half-merged is
 * ever visible). The lake connection is registered as the job's cancel
 * target meanwhile, so a cancel interrupts a long merge too. */
#include "jobs/layers/layers.h"
#include "lib/db.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *finished_now(void)
{
	char buf[32];
	util_now_iso(buf, sizeof buf);
	return json_string(buf);
}

/* Runs a statement returning one JSON value. */
static json_t *lake_json(PGconn *lake, const char *sql, int n, const char *const *params, char *err, size_t errlen)
{
	PGresult *r = PQexecParams(lake, sql, n, NULL, params, NULL, NULL, 0);
	json_t *out = NULL;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		out = json_loads(PQgetvalue(r, 0, 0), JSON_DECODE_ANY, NULL);
		if (!out)
			snprintf(err, errlen, "the lake answered something that is not JSON");
	} else {
		db_remember_failure(r);
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = 0;
	}
	PQclear(r);
	return out;
}

/* "check not_null(cliente_id): 3 rows fail not_null; e.g. [...]" for the first failures. */
static void describe_failures(json_t *failed, char *out, size_t len)
{
	size_t used = 0, i;
	json_t *f;
	out[0] = 0;
	json_array_foreach(failed, i, f) {
		char *check = json_dumps(json_object_get(f, "check"), JSON_COMPACT);
		char *sample = json_dumps(json_object_get(f, "sample"), JSON_COMPACT);
		int w = snprintf(out + used, len - used, "%scheck %s failed: %s%s%.300s", i ? "; " : "",
				 check ? check : "?", json_string_value(json_object_get(f, "detail")),
				 sample ? "; sample rows: " : "", sample ? sample : "");
		free(check);
		free(sample);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

/* Runs an override file in the open transaction; returns 0 or -1 (msg). */
static int run_override(PGconn *lake, long long job_id, long long source_id, const char *sql, char *msg,
			size_t len)
{
	char id[24], job[24];
	snprintf(id, sizeof id, "%lld", source_id);
	snprintf(job, sizeof job, "%lld", job_id);
	const char *params[2] = {id, job};
	if (db_exec_params(lake, "SELECT set_config('shopperlake.source_id', $1, true), "
				 "set_config('shopperlake.job_id', $2, true)", 2, params, msg, len) != 0)
		return -1;
	return db_exec(lake, sql, msg, len);
}

int layers_trusted(struct worker_slot *w, long long job_id, long long source_id, const char *table,
		   json_t *steps, long long *quarantined, struct load_error *err)
{
	char id[24], msg[1024], before_s[24], started[32];
	json_t *merge = NULL, *before = NULL, *failed = NULL;
	int rc = -1;
	snprintf(id, sizeof id, "%lld", source_id);
	const char *params[2] = {id, before_s};
	util_now_iso(started, sizeof started);
	*quarantined = 0;
	size_t steps_before = json_array_size(steps);

	worker_set_source(w, w->lake);
	if (db_exec(w->lake, "BEGIN", msg, sizeof msg) != 0 ||
	    db_exec(w->lake, "SET LOCAL client_min_messages = warning", msg, sizeof msg) != 0 ||
	    /* the merge sorts the batch by key: let a big one sort in memory */
	    db_exec(w->lake, "SET LOCAL work_mem = '256MB'", msg, sizeof msg) != 0 ||
	    /* but a swapped-in table's key index builds faster from sorted
	     * runs merged than from one big in-memory sort (5 M keys: 1.1-1.4 s
	     * at 64 MB against 2.1-2.6 s at 256 MB; 1 M keys: the same) */
	    db_exec(w->lake, "SET LOCAL maintenance_work_mem = '64MB'", msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
		goto out;
	}
	/* One TRUSTED step of a source at a time, from its first statement:
	 * two (a job taken back while its first worker still merges) would both
	 * make the tables of a first load at once, and take the rows before
	 * the merge from a table the other is changing. */
	if (db_exec_params(w->lake, "SELECT layers.layer_state_lock($1)", 1, params, msg, sizeof msg) != 0) {
		load_fail(err, job_lake_outcome(w), "trusted: %s", msg);
		goto out;
	}
	char *override = layers_override(w, table, "trusted");
	if (!(before = lake_json(w->lake, "SELECT layers.rows_before_merge($1)", 1, params, msg, sizeof msg))) {
		free(override);
		load_fail(err, JOB_TRANSIENT, "trusted: %s", msg);
		goto out;
	}
	/* what the merge changes, for the reports' incremental refresh: the
	 * batch's rows before it, here, and after it, below */
	const char *cp[2] = {id, override ? "whole" : "before"};
	if (db_exec_params(w->lake, "SELECT layers.capture_changes($1, $2)", 2, cp, msg, sizeof msg) != 0) {
		free(override);
		load_fail(err, job_lake_outcome(w), "trusted capture: %s", msg);
		goto out;
	}
	if (override) {
		/* sql/layers/<table>.trusted.sql replaces the generated merge */
		int orc = run_override(w->lake, job_id, source_id, override, msg, sizeof msg);
		free(override);
		if (orc != 0) {
			load_fail(err, job_lake_outcome(w), "trusted override: %s", msg);
			goto out;
		}
		merge = json_pack("{s:b, s:i, s:i}", "override", 1, "merged", 0, "quarantined", 0);
	} else if (!(merge = lake_json(w->lake, "SELECT layers.trusted_merge($1)", 1, params, msg, sizeof msg))) {
		load_fail(err, worker_should_stop(w) ? JOB_CANCELLED : JOB_TRANSIENT, "trusted: %s", msg);
		goto out;
	}
	cp[1] = "after";
	if (db_exec_params(w->lake, "SELECT layers.capture_changes($1, $2)", 2, cp, msg, sizeof msg) != 0) {
		load_fail(err, job_lake_outcome(w), "trusted capture: %s", msg);
		goto out;
	}
	*quarantined = json_integer_value(json_object_get(merge, "quarantined"));
	char batch[24];
	snprintf(batch, sizeof batch, "%lld", (long long)json_integer_value(json_object_get(merge, "batch")));
	const char *ap[2] = {id, batch};
	json_t *analyzed = lake_json(w->lake, "SELECT to_json(layers.analyze_after_merge($1, $2))", 2, ap, msg, sizeof msg);
	if (!analyzed) {
		load_fail(err, JOB_TRANSIENT, "trusted analyze: %s", msg);
		goto out;
	}
	json_decref(analyzed);
	json_t *children = lake_json(w->lake, "SELECT layers.trusted_children($1)", 1, params, msg, sizeof msg);
	if (!children) {
		load_fail(err, JOB_TRANSIENT, "trusted children: %s", msg);
		goto out;
	}
	if (json_object_size(children))
		json_object_set_new(merge, "children", children);
	else
		json_decref(children);
	json_t *trusted_step = json_pack("{s:s, s:s, s:s, s:O}", "name", STEP_TRUSTED, "state", JOB_STATE_DONE,
					 "started_at", started, "result", merge);
	json_object_set_new(trusted_step, "rows", json_integer(json_integer_value(json_object_get(merge, "merged"))));
	json_object_set_new(trusted_step, "finished_at", finished_now());
	json_array_append_new(steps, trusted_step);

	util_now_iso(started, sizeof started); /* the checks' own start */
	snprintf(before_s, sizeof before_s, "%lld", (long long)json_integer_value(before));
	if (!(failed = lake_json(w->lake, "SELECT layers.run_checks($1, $2)", 2, params, msg, sizeof msg))) {
		/* a check that cannot run (a table without a column it needs) will not run on a retry;
		 * a lock timeout or a lost connection may */
		load_fail(err, job_lake_outcome(w), "checks: %s", msg);
		goto out;
	}
	if (json_array_size(failed) > 0) {
		describe_failures(failed, msg, sizeof msg);
		json_object_set_new(trusted_step, "state", json_string(JOB_STATE_FAILED));
		json_object_set_new(trusted_step, "detail", json_string("rolled back: a check failed"));
		json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:O}", "name", STEP_CHECKS, "state",
						       JOB_STATE_FAILED, "started_at", started, "failed", failed));
		/* The data will not change by retrying: fail, keep the previous TRUSTED. */
		load_fail(err, JOB_PERMANENT, "%s", msg);
		goto out;
	}
	json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:o}", "name", STEP_CHECKS, "state", JOB_STATE_DONE,
					       "started_at", started, "finished_at", finished_now()));
	if (layers_mark_refreshed(w->lake, "trusted", table, msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "trusted: %s", msg);
		goto out;
	}
	if (db_commit(w->lake, msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake commit: %s", msg);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		db_rollback(w->lake);
		for (size_t i = steps_before; i < json_array_size(steps); i++) {
			json_t *st = json_array_get(steps, i);
			const char *state = json_string_value(json_object_get(st, "state"));
			if (state && !strcmp(state, JOB_STATE_DONE)) {
				json_object_set_new(st, "state", json_string(JOB_STATE_FAILED));
				json_object_set_new(st, "detail", json_string("rolled back"));
			}
		}
	}
	worker_set_source(w, NULL);
	json_decref(merge);
	json_decref(before);
	json_decref(failed);
	return rc;
}
