/* The writer of job log lines: a thread that moves lib/joblog.c's queue
 * into control.job_logs every second (and once more when stopped). */
#ifndef LAKE_MONITOR_JOBLOGS_H
#define LAKE_MONITOR_JOBLOGS_H

#include "server/app.h"

#include <stddef.h>

struct joblog_writer;

struct joblog_writer *joblog_writer_start(struct app *app, char *err, size_t errlen);
/* Stops it after a last flush; NULL is fine. */
void joblog_writer_stop(struct joblog_writer *w);

#endif
