/* One JSON object per line on stderr. Lines are written with a single
 * fputs under stdio's own lock, so lines of different threads never mix. */
#include "lib/log.h"
#include "lib/joblog.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level min) { min_level = min; }

void log_json(enum log_level level, const char *msg, json_t *fields)
{
	if (level < min_level) {
		json_decref(fields);
		return;
	}
	char ts[40];
	util_now_iso(ts, sizeof ts);

	json_t *line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "msg", msg);
	if (fields)
		json_object_update_missing(line, fields);
	json_decref(fields);

	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_t *job = json_object_get(line, "job_id");
	long long job_id = json_is_integer(job) ? (long long)json_integer_value(job) : 0;
	json_decref(line);
	if (!text)
		return;
	if (job_id > 0)
		joblog_push(job_id, text); /* GET /v1/jobs/{id}/logs */
	flockfile(stderr);
	fputs(text, stderr);
	fputc('\n', stderr);
	funlockfile(stderr);
	fflush(stderr);
	free(text);
}

void log_info(const char *msg) { log_json(LOG_INFO, msg, NULL); }
