/* The worker pool: SHOPPERLAKE_WORKERS threads that claim and run jobs, and
 * one supervisor thread that listens for NOTIFY, writes heartbeats, passes
 * cancel requests to the workers and takes back jobs of dead workers. */
#ifndef LAKE_POOL_H
#define LAKE_POOL_H

#include "server/app.h"

#include <stddef.h>

struct job_pool *job_pool_start(struct app *app, char *err, size_t errlen);
/* Interrupts running jobs (they go back to the queue without using an
 * attempt, for this or another server to run), then joins every thread. */
void job_pool_stop(struct job_pool *pool);

#endif
