/* The worker side of the job queue (control.jobs): claim, heartbeat, take
 * back the jobs of dead workers, and record how a job ended.
 *
 * Vocabulary: a *load* is what a user asks for; a *job* is its row; an
 * *attempt* is one worker's try at it. A job is finished in the same lake
 * transaction that writes its rows and advances the source's offset, and
 * only by the worker and attempt that claimed it: that is what makes a load
 * exactly-once when workers die or are presumed dead. */
#ifndef LAKE_QUEUE_H
#define LAKE_QUEUE_H

#include "jobs/job.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

struct claimed_job {
	long long id;
	long long source_id;   /* 0 when the source was deleted */
	int attempt, max_attempts;
	char load_type[16];
	char name[256];
	bool loaded;           /* LAND and RAW committed by an earlier attempt */
	json_t *steps;         /* steps recorded so far (owned; free with queue_job_free) */
};

void queue_job_free(struct claimed_job *job);

/* Claims the oldest runnable job: queued, due, no other load of its source
 * running, within its pipeline run's parallelism. 1 = claimed, 0 = none,
 * -1 = lake error. */
int queue_claim(PGconn *lake, const char *worker, struct claimed_job *job);

/* Inside the caller's open transaction: moves the source's offset from
 * `before` to `after` and marks the job loaded (LAND and RAW written).
 * Returns 0, or -1 when the job is no longer ours (cancelled, or taken back)
 * or the offset moved under us: then the caller must roll back. *why explains. */
int queue_loaded_in_tx(PGconn *lake, const struct claimed_job *job, const char *worker,
		       const char *before, const char *after, long long rows_read,
		       long long rows_written, long long rows_estimate, json_t *steps, const char **why);

/* Marks a loaded job DONE once its layer steps ran; -1 if it is no longer ours. */
int queue_done(PGconn *lake, const struct claimed_job *job, const char *worker, json_t *steps,
	       long long rows_quarantined);

/* Records a failed attempt outside any transaction: retried later with
 * backoff (transient, attempts left), failed, cancelled, or put back as it
 * was without using an attempt (interrupted by our own shutdown). */
void queue_record_failure(PGconn *lake, const struct claimed_job *job, const char *worker,
			  enum job_outcome outcome, const char *error, json_t *steps);

/* Writes heartbeat and progress of one running job; sets *cancelling when
 * the user asked to cancel it. -1 when the job is no longer ours. */
int queue_heartbeat(PGconn *lake, long long job_id, const char *worker, long long rows_read,
		    long long rows_estimate, bool *cancelling);

/* Takes back RUNNING/CANCELLING jobs whose heartbeat is older than
 * stale_secs, or whose worker is a process of this host that no longer
 * exists. Returns how many. */
int queue_reap(PGconn *lake, int stale_secs, const char *hostname);

/* The source definition of a claimed job (JSON from control.source_json). */
json_t *queue_source(PGconn *lake, long long source_id);

#endif
