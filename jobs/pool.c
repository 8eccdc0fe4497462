/* The worker pool and its supervisor.
 *
 * Workers sleep on a condition variable and wake when the supervisor hears
 * NOTIFY shopperlake_jobs (a handler queued a job), or every second anyway
 * (jobs whose retry backoff ran out need no notification). Each worker
 * claims one job at a time with its own lake connection and runs it.
 *
 * The supervisor has its own lake connection. Every heartbeat period it
 * writes the heartbeat and progress of each running job of this process,
 * and learns from the same UPDATE whether the user asked to cancel; NOTIFY
 * shopperlake_cancel makes it look at once. It also reaps: jobs of workers
 * that stopped answering anywhere, and at once those of dead processes on
 * this host.
 *
 * The pool also keeps the lake connections the refined steps of its jobs
 * share (SHOPPERLAKE_REFINED_CONNECTIONS, jobs/layers/refined.c): kept open
 * from one job to the next, their sessions keep the report functions
 * compiled and the catalogs cached. */
#include "jobs/pool.h"
#include "jobs/job.h"
#include "jobs/queue.h"
#include "jobs/runner.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A worker thread's slot and the pool it belongs to. */
struct pool_worker {
	struct worker_slot slot;
	struct job_pool *pool;
};

struct job_pool {
	struct app *app;
	int count;
	struct pool_worker *slots;
	struct db_pool *refined; /* the refined steps' connections */
	pthread_t supervisor;
	atomic_bool stopping;
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	char hostname[128];
};

static void wake_workers(struct job_pool *p)
{
	pthread_mutex_lock(&p->wake_lock);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->wake_lock);
}

static void sleep_until_woken(struct job_pool *p, int ms)
{
	util_pause(&p->wake_lock, &p->wake, &p->stopping, ms);
}

/* Keeps a connection open, reconnecting with a pause when it breaks. */
static PGconn *ensure_connected(struct job_pool *p, PGconn *c, const char *app_name)
{
	if (c && PQstatus(c) == CONNECTION_OK)
		return c;
	if (c)
		PQfinish(c);
	char err[512];
	c = db_connect(p->app->cfg.database_url, app_name, err, sizeof err);
	if (!c) {
		log_json(LOG_WARN, "lake connection failed; retrying", json_pack("{s:s, s:s}", "who", app_name, "error", err));
		sleep_until_woken(p, 2000);
	}
	return c;
}

static void *worker_main(void *arg)
{
	struct pool_worker *pw = arg;
	struct worker_slot *w = &pw->slot;
	struct job_pool *p = pw->pool;

	while (!atomic_load(&p->stopping)) {
		w->lake = ensure_connected(p, w->lake, "shopperlake-worker");
		if (!w->lake)
			continue;
		struct claimed_job job;
		int claimed = queue_claim(w->lake, w->name, &job);
		if (claimed <= 0) {
			sleep_until_woken(p, claimed < 0 ? 2000 : 1000);
			continue;
		}
		atomic_store(&w->rows_read, 0);
		atomic_store(&w->rows_estimate, -1);
		atomic_store(&w->cancel, false);
		atomic_store(&w->job_id, job.id);
		log_json(LOG_INFO, "job started", json_pack("{s:I, s:s, s:i, s:s}", "job_id", (json_int_t)job.id,
			 "job", job.name, "attempt", job.attempt, "worker", w->name));
		runner_run(w, &job);
		queue_job_free(&job);
		atomic_store(&w->job_id, 0);
	}
	if (w->lake)
		PQfinish(w->lake);
	w->lake = NULL;
	return NULL;
}

/* Heartbeats for this process's running jobs; flags the cancelled ones. */
static void heartbeat_all(struct job_pool *p, PGconn *c)
{
	for (int i = 0; i < p->count; i++) {
		struct worker_slot *w = &p->slots[i].slot;
		long long id = atomic_load(&w->job_id);
		if (!id)
			continue;
		bool cancelling;
		if (queue_heartbeat(c, id, w->name, atomic_load(&w->rows_read), atomic_load(&w->rows_estimate),
				    &cancelling) != 0)
			continue; /* finished meanwhile, or no longer ours: the worker will see */
		if (cancelling && !atomic_exchange(&w->cancel, true)) {
			log_json(LOG_INFO, "cancelling job", json_pack("{s:I}", "job_id", (json_int_t)id));
			worker_interrupt(w);
		}
	}
}

static PGconn *supervisor_connect(struct job_pool *p, PGconn *c)
{
	bool fresh = !c || PQstatus(c) != CONNECTION_OK;
	c = ensure_connected(p, c, "shopperlake-supervisor");
	if (c && fresh) {
		char err[256];
		if (db_exec(c, "LISTEN shopperlake_jobs; LISTEN shopperlake_cancel", err, sizeof err) != 0)
			log_json(LOG_WARN, "LISTEN failed", json_pack("{s:s}", "error", err));
		/* First thing on a (re)connect: take back jobs of dead workers. */
		queue_reap(c, p->app->cfg.stale_secs, p->hostname);
		wake_workers(p);
	}
	return c;
}

static void *supervisor_main(void *arg)
{
	struct job_pool *p = arg;
	PGconn *c = NULL;
	time_t last_beat = 0;

	while (!atomic_load(&p->stopping)) {
		c = supervisor_connect(p, c);
		if (!c)
			continue;
		struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
		poll(&pfd, 1, 250);
		bool jobs = false, cancels = false;
		if (PQconsumeInput(c) == 0) {
			log_json(LOG_WARN, "supervisor lost the lake connection", NULL);
			PQfinish(c);
			c = NULL;
			continue;
		}
		PGnotify *n;
		while ((n = PQnotifies(c))) {
			jobs = jobs || strcmp(n->relname, "shopperlake_jobs") == 0;
			cancels = cancels || strcmp(n->relname, "shopperlake_cancel") == 0;
			PQfreemem(n);
		}
		if (jobs)
			wake_workers(p);
		time_t now = time(NULL);
		if (cancels || now - last_beat >= p->app->cfg.heartbeat_secs) {
			heartbeat_all(p, c);
			if (now - last_beat >= p->app->cfg.heartbeat_secs) {
				if (queue_reap(c, p->app->cfg.stale_secs, p->hostname) > 0)
					wake_workers(p);
				last_beat = now;
			}
		}
	}
	if (c)
		PQfinish(c);
	return NULL;
}

struct job_pool *job_pool_start(struct app *app, char *err, size_t errlen)
{
	struct job_pool *p = calloc(1, sizeof *p);
	if (!p || !(p->slots = calloc((size_t)app->cfg.workers, sizeof *p->slots))) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->app = app;
	p->count = app->cfg.workers;
	if (!(p->refined = db_pool_open(app->cfg.database_url, app->cfg.refined_connections, "shopperlake-refined"))) {
		free(p->slots);
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->wake_lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (gethostname(p->hostname, sizeof p->hostname) != 0)
		snprintf(p->hostname, sizeof p->hostname, "localhost");
	p->hostname[strcspn(p->hostname, ":")] = 0;

	for (int i = 0; i < p->count; i++) {
		struct worker_slot *w = &p->slots[i].slot;
		p->slots[i].pool = p;
		w->stopping = &p->stopping;
		w->app = app;
		w->refined_pool = p->refined;
		w->index = i;
		snprintf(w->name, sizeof w->name, "%s:%ld:%d", p->hostname, (long)getpid(), i);
		pthread_mutex_init(&w->source_lock, NULL);
		atomic_store(&w->rows_estimate, -1);
	}
	if (pthread_create(&p->supervisor, NULL, supervisor_main, p) != 0) {
		snprintf(err, errlen, "cannot start the supervisor thread");
		db_pool_close(p->refined);
		free(p->slots);
		free(p);
		return NULL;
	}
	for (int i = 0; i < p->count; i++)
		if (pthread_create(&p->slots[i].slot.thread, NULL, worker_main, &p->slots[i]) != 0) {
			snprintf(err, errlen, "cannot start worker %d", i);
			p->count = i;
			job_pool_stop(p);
			return NULL;
		}
	return p;
}

void job_pool_stop(struct job_pool *p)
{
	if (!p)
		return;
	atomic_store(&p->stopping, true);
	wake_workers(p);
	for (int i = 0; i < p->count; i++)
		worker_interrupt(&p->slots[i].slot);
	for (int i = 0; i < p->count; i++)
		pthread_join(p->slots[i].slot.thread, NULL);
	pthread_join(p->supervisor, NULL);
	for (int i = 0; i < p->count; i++) {
		worker_set_source(&p->slots[i].slot, NULL);
		pthread_mutex_destroy(&p->slots[i].slot.source_lock);
	}
	db_pool_close(p->refined);
	pthread_mutex_destroy(&p->wake_lock);
	pthread_cond_destroy(&p->wake);
	free(p->slots);
	free(p);
}
