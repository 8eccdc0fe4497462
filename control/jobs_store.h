/* control.jobs and control.pipeline_runs as the API sees them: create a
 * load, start a pipeline run, list, show, cancel. The worker side of the
 * queue (claim, heartbeat, finish) is jobs/queue.c. */
#ifndef LAKE_JOBS_STORE_H
#define LAKE_JOBS_STORE_H

#include "control/store.h"

#include <stdbool.h>

/* Why a load was not queued: no such source, an inactive one, an
 * Idempotency-Key this source used for another load type, or an incremental
 * load of a source that only loads in full (it has no offset to go from). */
enum load_refusal { LOAD_OK, LOAD_NO_SOURCE, LOAD_INACTIVE, LOAD_KEY_REUSED, LOAD_FULL_ONLY };

/* Queues a load of source `id`. An idempotency key names one load of one
 * source: used before for the same source and load type, *out is that job
 * and *replayed is true. */
enum store_result jobs_create_load(PGconn *c, long long source_id, const char *load_type,
				   const char *idempotency_key, int max_attempts, json_t **out,
				   bool *replayed, enum load_refusal *refusal, struct store_error *e);

/* The same, inside the caller's transaction and without NOTIFY (the caller
 * sends jobs_notify before it commits): STORE_NOT_FOUND when the source is
 * missing or inactive, or the key was used before. */
enum store_result jobs_insert_load(PGconn *c, long long source_id, const char *load_type,
				   const char *idempotency_key, int max_attempts, json_t **out,
				   struct store_error *e);
/* Wakes the workers of every server once the transaction commits. */
enum store_result jobs_notify(PGconn *c, struct store_error *e);

struct job_filter {
	const char *state;           /* NULL = any */
	long long source_id;         /* 0 = any */
	long long pipeline_run_id;   /* 0 = any */
	long long before_id;         /* keyset cursor, newest first; 0 = from the newest */
	int limit;
};
enum store_result jobs_list(PGconn *c, const struct job_filter *f, json_t **items, bool *more,
			    struct store_error *e);
enum store_result jobs_get(PGconn *c, long long id, json_t **out, struct store_error *e);
/* QUEUED -> CANCELLED at once; RUNNING -> CANCELLING (the worker finishes
 * it). STORE_CONFLICT when the job has already ended. */
enum store_result jobs_cancel(PGconn *c, long long id, json_t **out, struct store_error *e);

/* Pipelines: all active sources of one system, source type and load type. */
enum store_result pipelines_list(PGconn *c, json_t **items, struct store_error *e);
/* Parses "<system>_<source_type>_<load_type>"; false if it is not one. */
bool pipeline_name_parse(const char *name, char *system, size_t syslen, const char **source_type,
			 const char **load_type);
enum store_result pipeline_run_create(PGconn *c, const char *name, int max_attempts, json_t **out,
				      struct store_error *e);
/* The same inside the caller's transaction, without NOTIFY: *run_id is the
 * new run; STORE_NOT_FOUND when the pipeline has no active source. */
enum store_result pipeline_run_insert(PGconn *c, const char *name, int max_attempts, long long *run_id,
				      struct store_error *e);
enum store_result pipeline_run_get(PGconn *c, const char *name, long long run_id, json_t **out,
				   struct store_error *e);
enum store_result pipeline_runs_list(PGconn *c, const char *name, long long before_id, int limit,
				     json_t **items, bool *more, struct store_error *e);

#endif
