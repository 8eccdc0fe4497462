/* The runner: one claimed job from its load to DONE (runner.c). */
#ifndef LAKE_RUNNER_H
#define LAKE_RUNNER_H

#include "jobs/job.h"
#include "jobs/queue.h"

/* Runs one claimed job to its end and records the outcome. */
void runner_run(struct worker_slot *w, const struct claimed_job *job);

#endif
