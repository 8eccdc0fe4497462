/* The job's own log lines, kept for GET /v1/jobs/{id}/logs: log_json hands
 * every line that carries a "job_id" to joblog_push, which queues it in
 * memory (bounded: beyond JOBLOG_MAX queued lines new ones are counted as
 * dropped, never block the caller); a thread of the server
 * (monitor/joblogs.c) takes the queue every second and writes it to
 * control.job_logs on its own connection, so a line survives the rollback
 * of the job's transaction. */
#ifndef LAKE_JOBLOG_H
#define LAKE_JOBLOG_H

#include <stddef.h>

#define JOBLOG_MAX 20000

struct joblog_line {
	long long job_id;
	char *text;          /* the JSON line, malloc'd */
};

/* Queues a copy of `text` for `job_id`. Thread-safe, never blocks long. */
void joblog_push(long long job_id, const char *text);
/* Takes every queued line (the caller frees each text and the array);
 * returns their number and, in *dropped, how many were dropped since the
 * last take. */
size_t joblog_take(struct joblog_line **lines, size_t *dropped);

#endif
