/* Validation of a schedule definition (control.schedules as JSON).
 *
 * schedule_validate() checks a complete definition, fills the defaults in
 * place and reports the first problem with the offending field. The time
 * zone's existence is the lake's to say (it holds the IANA database):
 * schedules_timezone_known() in control/schedules_store.h. No database here:
 * unit-tested with the cron parser. */
#ifndef LAKE_SCHEDULE_VALIDATE_H
#define LAKE_SCHEDULE_VALIDATE_H

#include "control/source_validate.h"
#include "scheduler/cron.h"

#include <jansson.h>

/* What the store needs besides the JSON: the cron's sets and the durations. */
struct schedule_parsed {
	struct cron_spec cron;
	long long deadline_secs;     /* -1: no deadline */
	long long retry_delay_secs;
};

/* The fields the server computes: read-only in a PATCH, dropped from the
 * current representation before a merge. NULL-ended. */
extern const char *const schedule_computed_fields[];

/* 0 when `def` is a valid definition (defaults now filled in), -1 otherwise. */
int schedule_validate(json_t *def, struct schedule_parsed *out, struct validation_error *err);

/* An ISO 8601 duration (P1D, PT45M, P1DT2H, PT90S, P2W) in seconds; -1 when
 * `s` is not one or exceeds a year. */
long long schedule_duration_parse(const char *s);

#endif
