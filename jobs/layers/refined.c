/* The refined step of a job: the reports of sql/refined/ that read a table
 * the job (or, for the last job of a pipeline run, the run) changed are
 * brought up to date (refined_report.c), side by side on the lake
 * connections the worker pool keeps for these steps (lanes,
 * SHOPPERLAKE_REFINED_CONNECTIONS). A report that reads other reports of the
 * step starts once they are done; the longest chains of reports (by the
 * seconds each took last time) go first, so that the lanes end together. Each
 * report is its own transaction: one that fails stops the step from starting
 * more and fails it, the others done stay done (their snapshots say what
 * they have). The lanes' sessions outlive the job: the report functions stay
 * compiled and the catalogs cached, which is most of what a small refresh
 * costs in a new session. */
#include "jobs/layers/layers.h"
#include "jobs/layers/refined_report.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { REPORT_PENDING, REPORT_RUNNING, REPORT_DONE };

/* A report of the step and what became of it. */
struct step_report {
	struct report rep;
	int state;
	double cost;              /* seconds its last update took (control.refined_state) */
	double priority;          /* cost + the longest chain of reports of the step reading it */
	struct report_outcome out;
	char waits_for[200];      /* a table it reads is missing: not run */
};

struct refined_step {
	struct worker_slot *w;
	struct step_report *reports;
	size_t n;
	int running;
	int connections;          /* the lanes it ran on */
	bool failed;
	struct load_error *err;   /* the first failure */
	pthread_mutex_t lock;
	pthread_cond_t changed;   /* a report ended */
};

/* One lane: a connection and the thread that runs reports on it. */
struct lane {
	struct refined_step *step;
	PGconn *conn;
	pthread_t thread;
};

/* The tables whose reports this job rebuilds (control.refined_tables). */
static json_t *tables_to_refresh(PGconn *lake, long long job_id, char *msg, size_t len)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", job_id);
	const char *params[1] = {id};
	json_t *tables = NULL;
	if (db_exec(lake, "BEGIN", msg, len) != 0)
		return NULL;
	PGresult *r = PQexecParams(lake, "SELECT control.refined_tables($1)", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		tables = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	else
		snprintf(msg, len, "%s", PQresultErrorMessage(r));
	PQclear(r);
	if (!tables || db_commit(lake, msg, len) != 0) {
		db_rollback(lake);
		json_decref(tables);
		return NULL;
	}
	return tables;
}

/* Does the report read any of these TRUSTED tables? */
static bool reads_any(const char *depends, json_t *tables)
{
	size_t i;
	json_t *t;
	char dep[200];
	json_array_foreach(tables, i, t) {
		snprintf(dep, sizeof dep, "trusted.%s", json_string_value(t));
		if (report_reads(depends, dep))
			return true;
	}
	return false;
}

/* Does report a read report b? */
static bool reads_report(const struct step_report *a, const struct step_report *b)
{
	char dep[80];
	snprintf(dep, sizeof dep, "refined.%s", b->rep.name);
	return a != b && report_reads(a->rep.depends, dep);
}

/* Longest chains first (the lanes end together), then by name. */
static int report_order(const void *pa, const void *pb)
{
	const struct step_report *a = pa, *b = pb;
	if (a->priority != b->priority)
		return a->priority < b->priority ? 1 : -1;
	return strcmp(a->rep.name, b->rep.name);
}

/* Each report's cost: the seconds its last update took; a millisecond when
 * unknown (then the longest chains of reports reading reports go first).
 * A failure leaves them unknown: the order is only a hint. */
static void load_costs(PGconn *lake, struct step_report *list, size_t n)
{
	for (size_t j = 0; j < n; j++)
		list[j].cost = 0.001;
	PGresult *r = PQexec(lake, "SELECT report, seconds FROM control.refined_state WHERE seconds > 0");
	for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
		for (size_t j = 0; j < n; j++)
			if (strcmp(list[j].rep.name, PQgetvalue(r, i, 0)) == 0)
				list[j].cost = strtod(PQgetvalue(r, i, 1), NULL);
	PQclear(r);
}

/* Each report's priority: its cost plus the costliest chain of the step's
 * reports that read it, and so on (n rounds: reports reading each other
 * stop there). */
static void set_priorities(struct step_report *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		list[i].priority = list[i].cost;
	for (size_t round = 0; round < n; round++)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				if (reads_report(&list[j], &list[i]) && list[i].priority < list[i].cost + list[j].priority)
					list[i].priority = list[i].cost + list[j].priority;
}

/* The reports of `dir` that read any of `tables`, in the order they are
 * taken (new array, *n of them; NULL and 0 when none). */
static struct step_report *reports_to_update(PGconn *lake, const char *dir, json_t *tables, size_t *n)
{
	struct step_report *list = NULL;
	size_t cap = 0;
	*n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		struct report rep;
		if (!report_read(dir, e->d_name, &rep))
			continue;
		if (!reads_any(rep.depends, tables)) {
			free(rep.sql);
			continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			struct step_report *more = realloc(list, cap * sizeof *list);
			if (!more) {
				free(rep.sql);
				break;
			}
			list = more;
		}
		memset(&list[*n], 0, sizeof list[*n]);
		list[(*n)++].rep = rep;
	}
	if (d)
		closedir(d);
	load_costs(lake, list, *n);
	set_priorities(list, *n);
	if (*n > 1)
		qsort(list, *n, sizeof *list, report_order);
	return list;
}

/* Does r read a report of the step not done yet? */
static bool waits_on_step(const struct refined_step *s, const struct step_report *r)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->reports[i].state != REPORT_DONE && reads_report(r, &s->reports[i]))
			return true;
	return false;
}

/* Takes the next report a lane may run, waiting while those left wait for
 * running ones; NULL when none is left or the step stops. With s->lock held. */
static struct step_report *next_report(struct refined_step *s)
{
	for (;;) {
		if (!s->failed && worker_should_stop(s->w)) {
			s->failed = true;
			load_fail(s->err, JOB_CANCELLED, "refined: the job was cancelled");
		}
		if (s->failed)
			return NULL;
		struct step_report *first = NULL, *take = NULL;
		for (size_t i = 0; i < s->n && !take; i++) {
			struct step_report *r = &s->reports[i];
			if (r->state != REPORT_PENDING)
				continue;
			if (!first)
				first = r;
			if (!waits_on_step(s, r))
				take = r;
		}
		/* reports that read each other: with none running, none can wait */
		if (!take && first && s->running == 0)
			take = first;
		if (take) {
			take->state = REPORT_RUNNING;
			s->running++;
			return take;
		}
		if (!first)
			return NULL;
		pthread_cond_wait(&s->changed, &s->lock);
	}
}

/* A lane: runs the step's reports on its connection until none is left. */
static void *lane_main(void *arg)
{
	struct lane *l = arg;
	struct refined_step *s = l->step;
	char msg[1024];
	pthread_mutex_lock(&s->lock);
	for (struct step_report *r; (r = next_report(s));) {
		pthread_mutex_unlock(&s->lock);
		bool ok = true;
		enum job_outcome outcome = JOB_TRANSIENT;
		if (report_dependencies_ready(l->conn, &r->rep, NULL, r->waits_for, sizeof r->waits_for) &&
		    report_update(l->conn, &r->rep, &r->out, msg, sizeof msg) != 0) {
			ok = false;
			outcome = job_conn_outcome(s->w, l->conn); /* this thread's failed SQLSTATE */
		}
		pthread_mutex_lock(&s->lock);
		r->state = REPORT_DONE;
		s->running--;
		if (!ok && !s->failed) {
			s->failed = true;
			load_fail(s->err, outcome, "refined report %s: %s", r->rep.name, msg);
		}
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Up to `want` connections of the refined steps' pool: the first waited for
 * (another job's refined step may hold them all), the others only if free
 * now. 0 when the job stops first or the lake refuses a new connection. */
static int lanes_acquire(struct worker_slot *w, PGconn **conns, int want)
{
	int n = 0;
	while (n == 0 && !worker_should_stop(w)) {
		if ((conns[0] = db_acquire(w->refined_pool, 1000))) {
			n = 1;
			break;
		}
		int size, open, idle;
		db_pool_stats(w->refined_pool, &size, &open, &idle);
		if (open < size)
			return 0; /* there was room: the connection failed */
	}
	while (n > 0 && n < want && (conns[n] = db_acquire(w->refined_pool, 0)))
		n++;
	return n;
}

/* Runs the step's `pending` reports on up to SHOPPERLAKE_REFINED_CONNECTIONS
 * lanes; the calling thread is the first. 0, or -1 (s->err). */
static int run_lanes(struct refined_step *s, size_t pending)
{
	struct worker_slot *w = s->w;
	int want = w->app->cfg.refined_connections;
	if ((size_t)want > pending)
		want = (int)pending;
	struct lane *lanes = calloc((size_t)want, sizeof *lanes);
	PGconn **conns = calloc((size_t)want, sizeof *conns);
	int n = lanes && conns ? lanes_acquire(w, conns, want) : 0;
	if (n == 0) {
		free(lanes);
		free(conns);
		return load_fail(s->err, worker_should_stop(w) ? JOB_CANCELLED : JOB_TRANSIENT,
				 "refined: no lake connection for the reports");
	}
	int started = 1;
	for (int i = 0; i < n; i++)
		lanes[i] = (struct lane){.step = s, .conn = conns[i]};
	for (int i = 1; i < n; i++) {
		if (pthread_create(&lanes[i].thread, NULL, lane_main, &lanes[i]) != 0)
			break;
		started++;
	}
	s->connections = started;
	lane_main(&lanes[0]);
	for (int i = 1; i < started; i++)
		pthread_join(lanes[i].thread, NULL);
	for (int i = 0; i < n; i++)
		db_release(w->refined_pool, conns[i]);
	free(lanes);
	free(conns);
	return s->failed ? -1 : 0;
}

/* The step's record of each report: rebuilt (and why), refreshed, waiting,
 * seconds; in the order they were taken. */
static void record_reports(const struct refined_step *s, json_t *step)
{
	json_t *built = json_array(), *refreshed = json_array(), *why = json_object(), *seconds = json_object(),
	       *waiting = json_array();
	for (size_t i = 0; i < s->n; i++) {
		const struct step_report *r = &s->reports[i];
		if (r->state != REPORT_DONE)
			continue;
		if (r->waits_for[0]) {
			json_array_append_new(waiting, json_pack("{s:s, s:s}", "report", r->rep.name, "waits_for", r->waits_for));
			continue;
		}
		if (r->out.rebuilt)
			json_array_append_new(built, json_string(r->rep.name));
		else if (r->out.refreshed) {
			json_object_set_new(r->out.refreshed, "report", json_string(r->rep.name));
			json_array_append(refreshed, r->out.refreshed);
		} else
			continue; /* it failed */
		if (r->out.why)
			json_object_set(why, r->rep.name, r->out.why);
		json_object_set_new(seconds, r->rep.name, json_real(r->out.seconds));
	}
	json_object_set_new(step, "rebuilt", built);
	json_object_set_new(step, "refreshed", refreshed);
	json_object_set_new(step, "rebuilt_because", why);
	json_object_set_new(step, "seconds", seconds);
	json_object_set_new(step, "waiting", waiting);
	if (s->connections > 0)
		json_object_set_new(step, "connections", json_integer(s->connections));
}

int layers_refined(struct worker_slot *w, long long job_id, json_t *steps, struct load_error *err)
{
	char dir[4096], msg[1024], started[40], finished[40];
	util_now_iso(started, sizeof started);
	snprintf(dir, sizeof dir, "%s/sql/refined", w->app->cfg.home);
	json_t *tables = tables_to_refresh(w->lake, job_id, msg, sizeof msg);
	if (!tables)
		return load_fail(err, JOB_TRANSIENT, "refined: %s", msg);

	struct refined_step s = {.w = w, .err = err};
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.changed, NULL);
	s.reports = reports_to_update(w->lake, dir, tables, &s.n);
	int rc = 0;
	size_t pending = 0;
	/* A report waiting for a TRUSTED table (not loaded yet) waits; the
	 * others' indexes are made first, one report after the other: two
	 * reports making them side by side would wait on each other's locks. */
	for (size_t i = 0; i < s.n && rc == 0; i++) {
		struct step_report *r = &s.reports[i];
		if (!report_dependencies_ready(w->lake, &r->rep, "trusted.", r->waits_for, sizeof r->waits_for))
			r->state = REPORT_DONE;
		else if (report_indexes(w->lake, &r->rep, msg, sizeof msg) != 0)
			rc = load_fail(err, job_lake_outcome(w), "refined report %s: %s", r->rep.name, msg);
		else
			pending++;
	}
	if (rc == 0 && pending > 0)
		rc = run_lanes(&s, pending);
	/* changes every report has seen go (a failure here costs nothing but space) */
	if (rc == 0 && json_array_size(tables) > 0 && db_exec(w->lake, "SELECT layers.refined_gc()", msg, sizeof msg) != 0)
		log_json(LOG_WARN, "refined: forgetting the changes every report has seen failed",
			 json_pack("{s:s}", "error", msg));
	util_now_iso(finished, sizeof finished);
	json_t *step = json_pack("{s:s, s:s, s:s, s:s}", "name", STEP_REFINED, "state",
				 rc == 0 ? JOB_STATE_DONE : JOB_STATE_FAILED, "started_at", started, "finished_at", finished);
	record_reports(&s, step);
	if (json_array_size(tables) == 0)
		json_object_set_new(step, "deferred", json_string("the last job of the pipeline run rebuilds the reports"));
	json_array_append_new(steps, step);
	for (size_t i = 0; i < s.n; i++) {
		free(s.reports[i].rep.sql);
		json_decref(s.reports[i].out.refreshed);
		json_decref(s.reports[i].out.why);
	}
	free(s.reports);
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.changed);
	json_decref(tables);
	return rc;
}

json_t *layers_refined_reports(const char *home)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/sql/refined", home);
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	json_t *out = json_array();
	struct dirent *e;
	while ((e = readdir(d))) {
		struct report rep;
		if (!report_read(dir, e->d_name, &rep))
			continue;
		free(rep.sql);
		json_t *deps = json_array();
		for (char *save = NULL, *tok = strtok_r(rep.depends, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
			json_array_append_new(deps, json_string(tok));
		json_array_append_new(out, json_pack("{s:s, s:o}", "name", rep.name, "depends", deps));
	}
	closedir(d);
	return out;
}
