/* One schedule's turn (see fire.h). The rules, in the order they apply:
 *
 * - A run whose target ended is settled: DONE and CANCELLED at once; FAILED
 *   once its retries are used up, otherwise attempt + 1 starts when
 *   retry_delay has passed since it ended (a failed run waiting for its
 *   retry still counts as active).
 * - Overlap: at most max_active_runs runs are active (target queued or
 *   running). A fire that finds them all busy WAITS: the cursor stays on the
 *   earliest fire not handled, and the fire starts when a run ends, late but
 *   not lost (waiting_since in the schedule's answer).
 * - Catch-up: the fires due now are those from the cursor up to the clock
 *   (at most a year back).
 *   With catchup "none" only the latest starts (after an outage, or a long
 *   wait, the lake runs once); with "all" each of the latest catchup_limit
 *   starts in order, still within max_active_runs. The run that starts says
 *   how many older fires were passed over.
 * - A target that cannot run (a pipeline with no active source, a deleted
 *   or inactive source) is recorded as target_missing with the reason and
 *   logged as a warning; a built-in task without a runner is recorded as
 *   skipped, "task not implemented yet". */
#include "scheduler/fire.h"
#include "control/jobs_store.h"
#include "scheduler/tasks.h"
#include "lib/db.h"
#include "lib/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_lock[] =
	"SELECT json_build_object('id', s.id, 'active', s.active, 'pipeline', s.pipeline, "
	"  'source_id', s.source_id, 'load_type', s.load_type, 'task', s.task, 'catchup', s.catchup, "
	"  'catchup_limit', s.catchup_limit, 'max_active_runs', s.max_active_runs, "
	"  'deadline_seconds', s.deadline_seconds, 'retries', s.retries, "
	"  'retry_delay_seconds', s.retry_delay_seconds, 'due', d.due, 'due_count', d.n, 'first_due', d.first, "
	"  'next_after', (SELECT f FROM control.schedule_fires(s, $2::timestamptz, NULL, 1) f)) "
	"FROM control.schedules s, LATERAL ("
	"  SELECT coalesce(json_agg(x.f ORDER BY x.f) FILTER (WHERE x.rn <= CASE WHEN s.catchup = 'all' "
	"           THEN s.catchup_limit ELSE 1 END), '[]') AS due, count(*) AS n, min(x.f) AS first "
	"  FROM (SELECT f, row_number() OVER (ORDER BY f DESC) AS rn "
	"        FROM control.schedule_fires(s, greatest(s.next_fire_at - interval '1 microsecond', "
	"               $2::timestamptz - interval '366 days'), $2::timestamptz, 1000000) f "
	"        WHERE s.active AND s.next_fire_at <= $2::timestamptz) x) d "
	"WHERE s.id = $1 FOR UPDATE OF s SKIP LOCKED";
static const char sql_open_runs[] =
	"SELECT json_build_object('id', r.id, 'scheduled_at', r.scheduled_at, 'attempt', r.attempt, "
	"  'outcome', r.outcome, 'state', control.schedule_run_state(r), "
	"  'retry_due', control.schedule_run_finished_at(r) + $3 * interval '1 second' <= $2::timestamptz) "
	"FROM control.schedule_runs r WHERE r.schedule_id = $1 AND NOT r.settled ORDER BY r.id";
static const char sql_settle[] =
	"UPDATE control.schedule_runs r SET settled = true, deadline_missed_at = coalesce(r.deadline_missed_at, "
	"  CASE WHEN control.schedule_run_finished_at(r) > r.deadline_at THEN control.schedule_run_finished_at(r) END) "
	"WHERE r.id = $1";
static const char sql_insert_run[] =
	"INSERT INTO control.schedule_runs (schedule_id, scheduled_at, attempt, started_at, outcome, "
	"  reason, task, deadline_at, server) "
	"VALUES ($1, $2::timestamptz, $3, $4::timestamptz, 'started', $5, $6, "
	"  $2::timestamptz + $7::integer * interval '1 second', $8) "
	"ON CONFLICT (schedule_id, scheduled_at, attempt) DO NOTHING RETURNING to_json(id)";
static const char sql_set_pipeline_run[] =
	"UPDATE control.schedule_runs SET pipeline_run_id = $2 WHERE id = $1";
static const char sql_set_job[] = "UPDATE control.schedule_runs SET job_id = $2 WHERE id = $1";
static const char sql_set_outcome[] =
	"UPDATE control.schedule_runs r SET outcome = $2, settled = true, reason = concat_ws('; ', coalesce($3, "
	"  (SELECT control.schedule_target_problem(s) FROM control.schedules s WHERE s.id = r.schedule_id), "
	"  'the target cannot run'), r.reason) WHERE r.id = $1 RETURNING to_json(r.reason)";
static const char sql_set_task[] =
	"UPDATE control.schedule_runs SET task_state = $2, task_finished_at = $3::timestamptz, "
	"  reason = coalesce($4, reason) WHERE id = $1";
static const char sql_cursor[] = "UPDATE control.schedules SET next_fire_at = $2::timestamptz WHERE id = $1";

/* One fire being handled. */
struct fire {
	long long schedule_id;
	const char *at;          /* the fire instant */
	int attempt;
	const char *reason;      /* a note for the record, may be NULL */
};

struct turn {
	PGconn *c;
	const struct sched_ctx *ctx;
	const char *now;
	json_t *sched;           /* the locked row with its due fires */
	json_t *logs;            /* lines to write once committed */
	int started;             /* pipeline runs and jobs queued (NOTIFY) */
	int active;
};

static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long num(json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

static int exec(struct turn *t, const char *sql, int n, const char *const *params, json_t **out)
{
	struct store_error e;
	enum store_result r = out ? store_one_json(t->c, sql, n, params, out, &e)
				  : store_command(t->c, sql, n, params, &e);
	if (r == STORE_ERROR) {
		log_json(LOG_WARN, "scheduler: lake statement failed",
			 json_pack("{s:s}", "error", e.res ? PQresultErrorMessage(e.res) : PQerrorMessage(t->c)));
		PQclear(e.res);
		return -1;
	}
	return r == STORE_OK ? 1 : 0;
}

static int set_id(struct turn *t, const char *sql, const char *run_id, long long value)
{
	char v[24];
	snprintf(v, sizeof v, "%lld", value);
	const char *p[2] = {run_id, v};
	return exec(t, sql, 2, p, NULL) < 0 ? -1 : 0;
}

static void note(struct turn *t, enum log_level level, const char *msg, const struct fire *f,
		 const char *outcome, const char *reason, json_t *extra)
{
	json_t *line = json_pack("{s:i, s:s, s:I, s:s, s:i, s:s, s:s?}", "level", (int)level, "msg", msg,
				 "schedule_id", (json_int_t)f->schedule_id, "scheduled_at", f->at,
				 "attempt", f->attempt, "outcome", outcome, "reason", reason);
	if (extra)
		json_object_update(line, extra);
	json_decref(extra);
	json_array_append_new(t->logs, line);
}

/* Marks the run target_missing or skipped; reason NULL: the target's problem. */
static int not_started(struct turn *t, const struct fire *f, const char *run_id, const char *outcome,
		       const char *reason)
{
	const char *p[3] = {run_id, outcome, reason};
	json_t *why = NULL;
	if (exec(t, sql_set_outcome, 3, p, &why) < 0)
		return -1;
	note(t, strcmp(outcome, "skipped") ? LOG_WARN : LOG_INFO,
	     strcmp(outcome, "skipped") ? "schedule target cannot run" : "schedule fire skipped", f, outcome,
	     json_string_value(why), NULL);
	json_decref(why);
	return 0;
}

/* A built-in task runs here, inside the fire's transaction (its writes
 * commit with the record, once); a SAVEPOINT keeps its failure its own. */
static int run_task(struct turn *t, const struct fire *f, const char *run_id, const struct sched_task *task)
{
	char err[512] = "", e2[256];
	if (db_exec(t->c, "SAVEPOINT task", e2, sizeof e2) != 0)
		return -1;
	json_t *report = NULL;
	int rc = task->run(t->c, f->at, &report, err, sizeof err);
	if (db_exec(t->c, rc == 0 ? "RELEASE SAVEPOINT task" : "ROLLBACK TO SAVEPOINT task", e2, sizeof e2) != 0) {
		json_decref(report);
		return -1;
	}
	const char *p[4] = {run_id, rc == 0 ? "JOB_STATE_DONE" : "JOB_STATE_FAILED", t->now, rc == 0 ? NULL : err};
	if (exec(t, sql_set_task, 4, p, NULL) < 0) {
		json_decref(report);
		return -1;
	}
	note(t, rc == 0 ? LOG_INFO : LOG_WARN, "schedule fired", f, "started", rc == 0 ? NULL : err,
	     json_pack("{s:s, s:s, s:o?}", "task", task->name, "state", p[1], "report", rc == 0 ? report : NULL));
	if (rc != 0)
		json_decref(report);
	return 0;
}

/* Records the fire and starts its target. 1 when it started something that
 * is now active, 0 when not (skipped, missing, already recorded), -1 on a
 * lake error. */
static int start(struct turn *t, const struct fire *f)
{
	json_t *s = t->sched;
	char sid[24], attempt[16], deadline[24], key[128];
	snprintf(sid, sizeof sid, "%lld", f->schedule_id);
	snprintf(attempt, sizeof attempt, "%d", f->attempt);
	snprintf(deadline, sizeof deadline, "%lld", num(s, "deadline_seconds"));
	const char *p[8] = {sid, f->at, attempt, t->now, f->reason, str(s, "task"),
			    json_is_integer(json_object_get(s, "deadline_seconds")) ? deadline : NULL,
			    t->ctx->server};
	json_t *idj = NULL;
	int rc = exec(t, sql_insert_run, 8, p, &idj);
	if (rc <= 0)
		return rc; /* 0: this fire and attempt is recorded already */
	char run_id[24];
	snprintf(run_id, sizeof run_id, "%lld", (long long)json_integer_value(idj));
	json_decref(idj);

	struct store_error e;
	enum store_result r;
	if (str(s, "pipeline")) {
		long long pr;
		r = pipeline_run_insert(t->c, str(s, "pipeline"), t->ctx->max_attempts, &pr, &e);
		if (r == STORE_OK && set_id(t, sql_set_pipeline_run, run_id, pr) == 0) {
			note(t, LOG_INFO, "schedule fired", f, "started", f->reason,
			     json_pack("{s:I}", "pipeline_run_id", (json_int_t)pr));
			t->started++;
			return 1;
		}
	} else if (str(s, "task")) {
		const struct sched_task *task = sched_task_find(str(s, "task"));
		if (!task || !task->run)
			return not_started(t, f, run_id, "skipped", "task not implemented yet");
		return run_task(t, f, run_id, task);
	} else {
		json_t *job = NULL;
		/* the key makes a second job for this fire and attempt impossible */
		snprintf(key, sizeof key, "schedule:%s:%s:%s", sid, f->at, attempt);
		r = jobs_insert_load(t->c, num(s, "source_id"), str(s, "load_type"), key, t->ctx->max_attempts,
				     &job, &e);
		long long job_id = (long long)json_integer_value(json_object_get(job, "id"));
		json_decref(job);
		if (r == STORE_OK && set_id(t, sql_set_job, run_id, job_id) == 0) {
			note(t, LOG_INFO, "schedule fired", f, "started", f->reason,
			     json_pack("{s:I}", "job_id", (json_int_t)job_id));
			t->started++;
			return 1;
		}
	}
	if (r == STORE_NOT_FOUND)
		return not_started(t, f, run_id, "target_missing", NULL) < 0 ? -1 : 0;
	if (r == STORE_ERROR)
		PQclear(e.res);
	return -1;
}

/* Settles what ended, starts due retries; counts the active runs. */
static int handle_open_runs(struct turn *t)
{
	json_t *s = t->sched, *runs = NULL;
	char sid[24], delay[24];
	snprintf(sid, sizeof sid, "%lld", num(s, "id"));
	snprintf(delay, sizeof delay, "%lld", num(s, "retry_delay_seconds"));
	const char *p[3] = {sid, t->now, delay};
	struct store_error e;
	if (store_json_rows(t->c, sql_open_runs, 3, p, &runs, &e) != STORE_OK) {
		PQclear(e.res);
		return -1;
	}
	int rc = 0;
	size_t i;
	json_t *r;
	json_array_foreach(runs, i, r) {
		const char *state = str(r, "state");
		char rid[24];
		snprintf(rid, sizeof rid, "%lld", num(r, "id"));
		const char *rp[1] = {rid};
		if (state && (!strcmp(state, "JOB_STATE_QUEUED") || !strcmp(state, "JOB_STATE_RUNNING") ||
			      !strcmp(state, "JOB_STATE_CANCELLING"))) {
			t->active++;
			continue;
		}
		bool failed = state && !strcmp(state, "JOB_STATE_FAILED");
		bool retry = failed && json_is_true(json_object_get(s, "active")) && num(r, "attempt") <= num(s, "retries");
		if (retry && !json_is_true(json_object_get(r, "retry_due"))) {
			t->active++; /* waits for its retry */
			continue;
		}
		if (exec(t, sql_settle, 1, rp, NULL) < 0) {
			rc = -1;
			break;
		}
		if (retry) {
			char why[64];
			snprintf(why, sizeof why, "retry %lld of %lld", num(r, "attempt"), num(s, "retries"));
			struct fire f = {num(s, "id"), str(r, "scheduled_at"), (int)num(r, "attempt") + 1, why};
			int started = start(t, &f);
			if (started < 0) {
				rc = -1;
				break;
			}
			t->active += started;
		}
	}
	json_decref(runs);
	return rc;
}

/* Starts the due fires in order while a slot is free; moves the cursor. */
static int handle_due(struct turn *t)
{
	json_t *s = t->sched, *due = json_object_get(s, "due");
	size_t n = json_array_size(due);
	if (n == 0)
		return 0;
	long long passed = num(s, "due_count") - (long long)n;
	char reason[160];
	const char *cursor = str(s, "next_after");
	for (size_t i = 0; i < n; i++) {
		const char *at = json_string_value(json_array_get(due, i));
		if (t->active >= num(s, "max_active_runs")) {
			/* waits for a run to end; from the earliest fire not handled, so
			 * the count of those passed over stays true */
			cursor = i == 0 ? str(s, "first_due") : at;
			break;
		}
		snprintf(reason, sizeof reason, "%lld older fire%s passed over (catchup %s)", passed,
			 passed == 1 ? "" : "s", str(s, "catchup"));
		struct fire f = {num(s, "id"), at, 1, i == 0 && passed > 0 ? reason : NULL};
		int rc = start(t, &f);
		if (rc < 0)
			return -1;
		t->active += rc;
	}
	char sid[24];
	snprintf(sid, sizeof sid, "%lld", num(s, "id"));
	const char *p[2] = {sid, cursor};
	return exec(t, sql_cursor, 2, p, NULL) < 0 ? -1 : 0;
}

static void flush_logs(json_t *logs)
{
	size_t i;
	json_t *line;
	json_array_foreach(logs, i, line) {
		enum log_level level = (enum log_level)json_integer_value(json_object_get(line, "level"));
		char *msg = strdup(str(line, "msg"));
		json_object_del(line, "level");
		json_object_del(line, "msg");
		log_json(level, msg ? msg : "schedule", json_incref(line));
		free(msg);
	}
}

int sched_fire(PGconn *c, const struct sched_ctx *ctx, long long id, const char *now)
{
	char err[256], sid[24];
	struct turn t = {c, ctx, now, NULL, json_array(), 0, 0};
	snprintf(sid, sizeof sid, "%lld", id);
	const char *p[2] = {sid, now};
	int rc = -1;

	if (db_exec(c, "BEGIN", err, sizeof err) != 0)
		goto out;
	int locked = exec(&t, sql_lock, 2, p, &t.sched);
	if (locked <= 0) {
		rc = locked; /* gone, or another server holds it */
		goto out;
	}
	if (handle_open_runs(&t) != 0 || handle_due(&t) != 0)
		goto out;
	struct store_error e;
	if (t.started && jobs_notify(c, &e) != STORE_OK) {
		PQclear(e.res);
		goto out;
	}
	if (db_commit(c, err, sizeof err) != 0)
		goto out;
	flush_logs(t.logs);
	rc = json_array_size(t.logs) > 0 ? (int)json_array_size(t.logs) : 0;
out:
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		db_rollback(c);
	json_decref(t.sched);
	json_decref(t.logs);
	return rc;
}
