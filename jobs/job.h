/* The job context: what a running job's code may use, and the bottom of
 * jobs/. Everything above it (the source kinds, the layer steps, the runner,
 * the pool) includes it; it includes nothing of theirs.
 *
 * A worker slot is one thread with one lake connection running at most one
 * job at a time. The pool's supervisor thread reads its atomics to write
 * heartbeats and progress, and interrupts the slot when its job is cancelled
 * or the server stops.
 *
 * Vocabulary: a job's *steps* are extract, land, raw (the load, one lake
 * transaction), trusted, checks and refined; each is recorded with a state
 * from Dataflow's JOB_STATE_* names. */
#ifndef LAKE_JOB_H
#define LAKE_JOB_H

#include "lib/dynbuf.h"
#include "server/app.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Job states (control.jobs.state and each step's state). */
#define JOB_STATE_QUEUED "JOB_STATE_QUEUED"
#define JOB_STATE_RUNNING "JOB_STATE_RUNNING"
#define JOB_STATE_CANCELLING "JOB_STATE_CANCELLING"
#define JOB_STATE_DONE "JOB_STATE_DONE"
#define JOB_STATE_FAILED "JOB_STATE_FAILED"
#define JOB_STATE_CANCELLED "JOB_STATE_CANCELLED"

/* Step names, in the order a job runs them. */
#define STEP_EXTRACT "extract"
#define STEP_LAND "land"
#define STEP_RAW "raw"
#define STEP_TRUSTED "trusted"
#define STEP_CHECKS "checks"
#define STEP_REFINED "refined"

/* How an attempt ended when it did not succeed. */
enum job_outcome { JOB_TRANSIENT, JOB_PERMANENT, JOB_CANCELLED, JOB_INTERRUPTED };

struct load_error {
	enum job_outcome outcome;
	char message[1024];
};

/* Formats err (printf-style) with an outcome; returns -1 for `return load_fail(...)`. */
int load_fail(struct load_error *err, enum job_outcome outcome, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* How a failed lake statement of a layer step ends the attempt: cancelled
 * when the job must stop, transient when retrying may help (a lost
 * connection, a cancelled statement, a lock timeout, a full disk: see
 * db_error_transient), permanent otherwise (bad SQL in an override, a check
 * that cannot run). Reads the thread's last failed SQLSTATE. */
struct worker_slot;
enum job_outcome job_lake_outcome(struct worker_slot *w);
/* The same for a statement that failed on another lake connection of the
 * job, in the thread that ran it. */
enum job_outcome job_conn_outcome(struct worker_slot *w, PGconn *conn);

/* A step record: {name, state, started_at, finished_at (now), rows}. */
json_t *job_step(const char *name, const char *state, const char *started_at, long long rows);

/* Interrupts a source's query in flight; called from another thread. */
typedef void (*source_interrupt_fn)(void *arg);

struct worker_slot {
	struct app *app;
	int index;
	char name[160];              /* host:pid:slot, written into control.jobs.worker */
	pthread_t thread;
	PGconn *lake;
	struct db_pool *refined_pool; /* the pool's, shared: the refined steps' connections */
	const atomic_bool *stopping; /* the pool's: the server stops */
	atomic_llong job_id;         /* 0 when idle */
	atomic_llong rows_read;      /* progress of the running job */
	atomic_llong rows_estimate;  /* -1 = unknown */
	atomic_bool cancel;          /* the user cancelled the running job */
	pthread_mutex_t source_lock;
	source_interrupt_fn interrupt; /* NULL when no source query runs */
	void *interrupt_arg;
	PGcancel *source_cancel;     /* the PostgreSQL connection's, for worker_set_source */
	struct dynbuf attempt_files; /* bucket files this attempt created, NUL-separated */
};

/* The lake's name of a source's tables in every layer: "<system>_<object>". */
void job_lake_table(json_t *source, char *name, size_t len);

/* The bucket: the directory where loads keep the files they received.
 * Creates this load's, <bucket>/<system>/<object>/dt=<today UTC>, and
 * writes its path into dir. */
int job_bucket_dir(struct worker_slot *w, json_t *source, char *dir, size_t len, struct load_error *err);

/* Notes a bucket file this attempt created (a page, a downloaded file) and
 * that nothing committed refers to yet. */
void job_track_file(struct worker_slot *w, const char *path);
/* Ends the attempt's file list: with `remove` (its load rolled back) the
 * files are deleted, so failed attempts do not fill the disk; otherwise
 * they are kept, now referred to by what committed. */
void job_settle_files(struct worker_slot *w, bool remove);

/* true when the running job should stop: cancelled, or the server stops. */
bool worker_should_stop(struct worker_slot *w);
bool worker_pool_stopping(struct worker_slot *w);
/* Registers (or with NULL, forgets) the PostgreSQL connection to interrupt. */
void worker_set_source(struct worker_slot *w, PGconn *source);
/* Registers (or with fn NULL, forgets) any other source's interrupt. */
void worker_set_interrupt(struct worker_slot *w, source_interrupt_fn fn, void *arg);
/* Interrupts the source query in flight, if any (called by other threads). */
void worker_interrupt(struct worker_slot *w);

#endif
