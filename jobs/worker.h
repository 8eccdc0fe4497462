/* A worker slot: one thread, one lake connection, at most one job at a time.
 * The pool's supervisor thread reads the atomics to write heartbeats and
 * progress, and interrupts the slot when its job is cancelled or the server
 * stops. */
#ifndef LAKE_WORKER_H
#define LAKE_WORKER_H

#include "jobs/queue.h"
#include "server/app.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct job_pool;

struct worker_slot {
	struct job_pool *pool;
	struct app *app;
	int index;
	char name[160];              /* host:pid:slot, written into control.jobs.worker */
	pthread_t thread;
	PGconn *lake;
	atomic_llong job_id;         /* 0 when idle */
	atomic_llong rows_read;      /* progress of the running job */
	atomic_llong rows_estimate;  /* -1 = unknown */
	atomic_bool cancel;          /* the user cancelled the running job */
	pthread_mutex_t source_lock;
	PGcancel *source_cancel;     /* interrupts the source query; NULL when none */
};

/* true when the running job should stop: cancelled, or the server stops. */
bool worker_should_stop(struct worker_slot *w);
bool worker_pool_stopping(struct worker_slot *w);
/* Registers (or with NULL, forgets) the source connection to interrupt. */
void worker_set_source(struct worker_slot *w, PGconn *source);
/* Cancels the source query in flight, if any (called by other threads). */
void worker_interrupt(struct worker_slot *w);

/* Runs one claimed job to its end and records the outcome (runner.c). */
void runner_run(struct worker_slot *w, const struct claimed_job *job);

#endif
