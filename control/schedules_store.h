/* control.schedules and control.schedule_runs as the API sees them: the SQL
 * of the schedules resource, in one place. Definitions go in as one jsonb
 * parameter plus the parsed cron; they come out as control.schedule_json,
 * whose next five fires count from `clock` (the scheduler's clock, ISO
 * 8601, so a test clock shows in answers too). The firing side is
 * scheduler/fire.c. */
#ifndef LAKE_SCHEDULES_STORE_H
#define LAKE_SCHEDULES_STORE_H

#include "control/schedule_validate.h"
#include "control/store.h"

#include <stdbool.h>

/* Whether PostgreSQL knows `tz` as an IANA zone name. */
enum store_result schedules_timezone_known(PGconn *c, const char *tz, bool *known, struct store_error *e);

/* Inserts a validated definition in its own transaction; *out is the stored
 * schedule. The first fire is the first instant after `clock`. */
enum store_result schedules_insert(PGconn *c, json_t *def, const struct schedule_parsed *p,
				   const char *clock, json_t **out, struct store_error *e);
/* `lock`: FOR UPDATE, inside the caller's transaction. */
enum store_result schedules_get(PGconn *c, long long id, const char *clock, bool lock, json_t **out,
				struct store_error *e);
enum store_result schedules_list(PGconn *c, long long after_id, int limit, const char *clock,
				 json_t **items, bool *more, struct store_error *e);
/* Replaces the definition (inside the caller's transaction). With
 * `reschedule` (the cron or zone changed, or it was switched on) the next
 * fire is counted again from `clock`; otherwise a fire that waits still
 * waits. */
enum store_result schedules_update(PGconn *c, long long id, json_t *def, const struct schedule_parsed *p,
				   bool reschedule, const char *clock, json_t **out, struct store_error *e);
/* Deletes the schedule and its run records (the runs it started stay). */
enum store_result schedules_delete(PGconn *c, long long id, struct store_error *e);
/* Its fires, newest first, keyset by id. STORE_NOT_FOUND: no such schedule. */
enum store_result schedule_runs_list(PGconn *c, long long id, long long before_id, int limit,
				     json_t **items, bool *more, struct store_error *e);

#endif
