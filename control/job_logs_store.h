/* control.job_logs in the lake: a job's own log lines (GET /v1/jobs/{id}/logs). */
#ifndef LAKE_JOB_LOGS_STORE_H
#define LAKE_JOB_LOGS_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "control/store.h"

/* Up to `limit` lines of job `job_id` after line `after_id`, oldest first;
 * STORE_NOT_FOUND when there is no such job. */
enum store_result job_logs_list(PGconn *c, long long job_id, long long after_id, int limit, json_t **items,
				bool *more, struct store_error *e);

#endif
