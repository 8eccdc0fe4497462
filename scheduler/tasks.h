/* Built-in tasks that a schedule may fire instead of a pipeline or a load:
 * the fixed list, in one place (tasks.c), each with the function that runs
 * it. A task whose runner is NULL is known (schedules may name it) but does
 * not run yet: a fire records it as skipped, "task not implemented yet".
 * The monitoring work registers its runners here. */
#ifndef LAKE_SCHED_TASKS_H
#define LAKE_SCHED_TASKS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* Runs the task on the scheduler's lake connection, inside the transaction
 * that records its fire (under a SAVEPOINT: its writes commit with the
 * record, once, and a failure rolls back only its own); `scheduled_at` is
 * the fire instant (ISO 8601). Returns 0 when it succeeded, with what it
 * did in *report (a JSON object for the log line written once the
 * transaction committed; the caller decrefs it), -1 with a reason in err (no
 * secret in it). Keep it short: the schedule stays locked while it runs;
 * long work belongs in a job. */
typedef int (*sched_task_fn)(PGconn *lake, const char *scheduled_at, json_t **report, char *err, size_t errlen);

struct sched_task {
	const char *name;
	const char *what;       /* one line for the docs and errors */
	sched_task_fn run;      /* NULL: not implemented yet */
};

/* The task named `name`, or NULL. */
const struct sched_task *sched_task_find(const char *name);
/* Settings of the runners, from the configuration: how many days of job
 * history retention keeps (0 = all). Call before the scheduler starts. */
void sched_tasks_configure(int job_history_days);
/* The names, comma-separated, for error messages. */
void sched_task_names(char *buf, size_t len);

#endif
