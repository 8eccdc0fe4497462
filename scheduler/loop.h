/* The scheduler: one thread per server that, every second, reads its clock
 * (scheduler/clock.h), reports runs past their deadline, and gives each
 * schedule that has a fire due or a run still open its turn
 * (scheduler/fire.h). Several servers sharing a lake all run it; the row
 * locks and the unique run records make each fire happen once. */
#ifndef LAKE_SCHED_LOOP_H
#define LAKE_SCHED_LOOP_H

#include "server/app.h"

#include <stddef.h>

struct scheduler;

/* Starts the thread (it connects to the lake itself, and again after a
 * failure). NULL with err when the thread cannot start. */
struct scheduler *scheduler_start(struct app *app, char *err, size_t errlen);
/* Stops after the current turn; NULL does nothing. */
void scheduler_stop(struct scheduler *s);

#endif
