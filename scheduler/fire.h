/* Firing one schedule: in ONE lake transaction that holds the schedule's
 * row lock (FOR UPDATE SKIP LOCKED, so two servers never handle the same
 * schedule at once), settle its finished runs, start the retries that are
 * due, start the fires that came due (the catch-up policy picks which), and
 * move its cursor (next_fire_at). Each fire is a control.schedule_runs row,
 * unique on (schedule_id, scheduled_at, attempt), inserted with ON CONFLICT
 * DO NOTHING in the same transaction as the pipeline run or job it starts:
 * a crash before the commit loses nothing (the cursor did not move either),
 * a commit happens once.
 *
 * Vocabulary: a fire is an instant of the cron; a run (schedule run) is the
 * record of one attempt at a fire; its target's work is a pipeline run, a
 * job, or a built-in task. */
#ifndef LAKE_SCHED_FIRE_H
#define LAKE_SCHED_FIRE_H

#include <libpq-fe.h>

struct sched_ctx {
	const char *server;   /* host:pid, recorded on each run */
	int max_attempts;     /* of the jobs it queues (transient failures) */
};

/* Handles schedule `id` at instant `now` (ISO 8601). Returns the number of
 * fires and retries recorded, 0 when there was nothing to do (or another
 * server holds it), -1 on a lake error (rolled back; the next tick tries
 * again). */
int sched_fire(PGconn *c, const struct sched_ctx *ctx, long long id, const char *now);

#endif
