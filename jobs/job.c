/* The job context's functions: stop and cancel checks, the interrupt of a
 * source query, failure and step records. */
#include "jobs/job.h"
#include "lib/db.h"
#include "lib/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int load_fail(struct load_error *err, enum job_outcome outcome, const char *fmt, ...)
{
	va_list ap;
	err->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	err->message[strcspn(err->message, "\n")] = 0;
	return -1;
}

json_t *job_step(const char *name, const char *state, const char *started_at, long long rows)
{
	char finished[40];
	util_now_iso(finished, sizeof finished);
	return json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", name, "state", state, "started_at", started_at,
			 "finished_at", finished, "rows", (json_int_t)rows);
}

bool worker_pool_stopping(struct worker_slot *w)
{
	return atomic_load(w->stopping);
}

bool worker_should_stop(struct worker_slot *w)
{
	return atomic_load(&w->cancel) || atomic_load(w->stopping);
}

static void cancel_pg(void *arg)
{
	char err[256];
	PQcancel(arg, err, sizeof err);
}

void worker_set_interrupt(struct worker_slot *w, source_interrupt_fn fn, void *arg)
{
	pthread_mutex_lock(&w->source_lock);
	w->interrupt = fn;
	w->interrupt_arg = arg;
	pthread_mutex_unlock(&w->source_lock);
}

void worker_set_source(struct worker_slot *w, PGconn *source)
{
	pthread_mutex_lock(&w->source_lock);
	if (w->source_cancel)
		PQfreeCancel(w->source_cancel);
	w->source_cancel = source ? PQgetCancel(source) : NULL;
	w->interrupt = w->source_cancel ? cancel_pg : NULL;
	w->interrupt_arg = w->source_cancel;
	pthread_mutex_unlock(&w->source_lock);
}

void worker_interrupt(struct worker_slot *w)
{
	pthread_mutex_lock(&w->source_lock);
	if (w->interrupt)
		w->interrupt(w->interrupt_arg);
	pthread_mutex_unlock(&w->source_lock);
}

void job_lake_table(json_t *source, char *name, size_t len)
{
	snprintf(name, len, "%s_%s", json_string_value(json_object_get(source, "system")),
		 json_string_value(json_object_get(source, "object")));
}

int job_bucket_dir(struct worker_slot *w, json_t *source, char *dir, size_t len, struct load_error *err)
{
	char day[16];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	snprintf(dir, len, "%s/%s/%s/dt=%s", w->app->cfg.bucket_dir,
		 json_string_value(json_object_get(source, "system")),
		 json_string_value(json_object_get(source, "object")), day);
	if (util_make_dirs(dir) != 0)
		return load_fail(err, JOB_TRANSIENT, "cannot create bucket directory %s: %s", dir, strerror(errno));
	return 0;
}

enum job_outcome job_lake_outcome(struct worker_slot *w)
{
	return job_conn_outcome(w, w->lake);
}

enum job_outcome job_conn_outcome(struct worker_slot *w, PGconn *conn)
{
	if (worker_should_stop(w))
		return JOB_CANCELLED;
	return db_error_transient(db_last_sqlstate(), conn) ? JOB_TRANSIENT : JOB_PERMANENT;
}

void job_track_file(struct worker_slot *w, const char *path)
{
	dynbuf_add(&w->attempt_files, path, strlen(path) + 1);
}

void job_settle_files(struct worker_slot *w, bool remove)
{
	const char *p = w->attempt_files.data, *end = p + w->attempt_files.len;
	for (; remove && p && p < end; p += strlen(p) + 1)
		unlink(p);
	dynbuf_free(&w->attempt_files);
}
