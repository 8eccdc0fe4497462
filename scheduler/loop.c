/* The scheduler's thread and its tick (see loop.h). */
#include "scheduler/loop.h"
#include "control/store.h"
#include "scheduler/clock.h"
#include "scheduler/fire.h"
#include "scheduler/tasks.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 1000

struct scheduler {
	struct app *app;
	pthread_t thread;
	atomic_bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	char server[160];
};

/* Runs past their deadline and not DONE: reported once (the server whose
 * UPDATE marks it logs it), for the monitoring to alert on. */
static const char sql_deadlines[] =
	"UPDATE control.schedule_runs r SET deadline_missed_at = $1::timestamptz "
	"WHERE NOT r.settled AND r.outcome = 'started' AND r.deadline_missed_at IS NULL "
	"  AND r.deadline_at <= $1::timestamptz "
	"  AND control.schedule_run_state(r) IS DISTINCT FROM 'JOB_STATE_DONE' "
	"RETURNING json_build_object('schedule_id', r.schedule_id, 'run_id', r.id, "
	"  'scheduled_at', r.scheduled_at, 'deadline_at', r.deadline_at, 'state', control.schedule_run_state(r))";
/* Schedules with a fire due, or a run not settled yet. */
static const char sql_candidates[] =
	"SELECT to_json(id) FROM (SELECT s.id FROM control.schedules s "
	"  WHERE s.active AND s.next_fire_at <= $1::timestamptz "
	"  UNION SELECT r.schedule_id FROM control.schedule_runs r WHERE NOT r.settled) x ORDER BY id";

/* The server's own period for the built-in tasks monitoring_checks
 * (SHOPPERLAKE_MONITOR_INTERVAL) and retention
 * (SHOPPERLAKE_RETENTION_INTERVAL): while no active schedule names the
 * task, the first server whose UPDATE finds the period over runs it, in the
 * same transaction (so several servers run it once a period; a test clock
 * moved back starts a new period). */
static const char sql_own_period[] =
	"UPDATE control.task_periods p SET last_run_at = $1::timestamptz "
	"WHERE p.task = $3 AND (p.last_run_at IS NULL "
	"  OR p.last_run_at <= $1::timestamptz - $2::integer * interval '1 second' OR p.last_run_at > $1::timestamptz) "
	"  AND NOT EXISTS (SELECT 1 FROM control.schedules s WHERE s.task = p.task AND s.active) "
	"RETURNING to_json(p.task)";

static void own_period(PGconn *c, const char *task_name, int period_secs, const char *now)
{
	char err[512], period[16];
	struct store_error e;
	json_t *row = NULL;
	snprintf(period, sizeof period, "%d", period_secs);
	const char *p[3] = {now, period, task_name};
	if (db_exec(c, "BEGIN", err, sizeof err) != 0)
		return;
	enum store_result r = store_one_json(c, sql_own_period, 3, p, &row, &e);
	json_decref(row);
	if (r == STORE_ERROR)
		PQclear(e.res);
	if (r != STORE_OK)
		goto out;
	const struct sched_task *task = sched_task_find(task_name);
	json_t *report = NULL;
	if (task->run(c, now, &report, err, sizeof err) != 0) {
		log_json(LOG_WARN, "built-in task failed", json_pack("{s:s, s:s}", "task", task_name, "error", err));
		goto out;
	}
	if (db_commit(c, err, sizeof err) != 0)
		log_json(LOG_WARN, "built-in task not committed", json_pack("{s:s, s:s}", "task", task_name, "error", err));
	else
		log_json(json_array_size(json_object_get(report, "fired")) ? LOG_WARN : LOG_INFO,
			 strcmp(task_name, "retention") ? "monitoring checks ran" : "retention ran",
			 json_pack("{s:s, s:s, s:O}", "task", task->name, "at", now, "report", report));
	json_decref(report);
out:
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		db_rollback(c);
}

static void tick(struct scheduler *s, PGconn *c)
{
	char now[64];
	struct store_error e;
	json_t *rows = NULL;
	sched_clock_now(s->app->cfg.test_clock, now, sizeof now);
	const char *p[1] = {now};

	if (store_json_rows(c, sql_deadlines, 1, p, &rows, &e) != STORE_OK) {
		log_json(LOG_WARN, "scheduler: deadline check failed",
			 json_pack("{s:s}", "error", e.res ? PQresultErrorMessage(e.res) : PQerrorMessage(c)));
		PQclear(e.res);
		return;
	}
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
		log_json(LOG_WARN, "schedule run missed its deadline", json_incref(row));
	json_decref(rows);

	if (store_json_rows(c, sql_candidates, 1, p, &rows, &e) != STORE_OK) {
		log_json(LOG_WARN, "scheduler: cannot list due schedules",
			 json_pack("{s:s}", "error", e.res ? PQresultErrorMessage(e.res) : PQerrorMessage(c)));
		PQclear(e.res);
		return;
	}
	struct sched_ctx ctx = {s->server, s->app->cfg.job_max_attempts};
	json_array_foreach(rows, i, row) {
		if (atomic_load(&s->stopping))
			break;
		sched_fire(c, &ctx, (long long)json_integer_value(row), now);
	}
	json_decref(rows);
	if (s->app->cfg.monitor_interval > 0 && !atomic_load(&s->stopping))
		own_period(c, "monitoring_checks", s->app->cfg.monitor_interval, now);
	if (s->app->cfg.retention_interval > 0 && !atomic_load(&s->stopping))
		own_period(c, "retention", s->app->cfg.retention_interval, now);
}

static void sleep_ms(struct scheduler *s, int ms)
{
	util_pause(&s->lock, &s->wake, &s->stopping, ms);
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;
	PGconn *c = NULL;
	char err[512];
	while (!atomic_load(&s->stopping)) {
		if (!c || PQstatus(c) != CONNECTION_OK) {
			if (c)
				PQfinish(c);
			c = db_connect(s->app->cfg.database_url, "shopperlake-scheduler", err, sizeof err);
			if (!c) {
				log_json(LOG_WARN, "scheduler: lake connection failed; retrying", json_pack("{s:s}", "error", err));
				sleep_ms(s, 2000);
				continue;
			}
		}
		tick(s, c);
		sleep_ms(s, TICK_MS);
	}
	if (c)
		PQfinish(c);
	return NULL;
}

struct scheduler *scheduler_start(struct app *app, char *err, size_t errlen)
{
	struct scheduler *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->app = app;
	sched_tasks_configure(app->cfg.job_history_days);
	atomic_init(&s->stopping, false);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	char host[128];
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = 0;
	snprintf(s->server, sizeof s->server, "%s:%ld", host, (long)getpid());
	if (app->cfg.test_clock)
		log_json(LOG_WARN, "scheduler: using the test clock", json_pack("{s:s}", "file", app->cfg.test_clock));
	int rc = pthread_create(&s->thread, NULL, scheduler_main, s);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the scheduler thread: %s", strerror(rc));
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->wake);
		free(s);
		return NULL;
	}
	return s;
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}
