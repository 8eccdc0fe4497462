/* The job log writer (see joblogs.h). One INSERT per second takes every
 * queued line as one jsonb array; lines of a job that does not exist (an
 * id in a line that is not a lake job) are skipped. If the lake cannot be
 * reached the lines of that second are dropped with a warning: the log on
 * stderr still has them. */
#include "monitor/joblogs.h"
#include "control/store.h"
#include "lib/db.h"
#include "lib/joblog.h"
#include "lib/log.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 1000

struct joblog_writer {
	struct app *app;
	pthread_t thread;
	atomic_bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
};

static const char sql_insert[] =
	"INSERT INTO control.job_logs (job_id, line) "
	"SELECT (x->>'job_id')::bigint, x->'line' FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, n) "
	"WHERE EXISTS (SELECT 1 FROM control.jobs j WHERE j.id = (x->>'job_id')::bigint) ORDER BY n";

/* Writes what is queued; the queue is emptied whatever happens. */
static void flush(PGconn **c, const char *url)
{
	struct joblog_line *lines;
	size_t dropped, n = joblog_take(&lines, &dropped);
	if (n == 0 && dropped == 0)
		return;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *line = json_loads(lines[i].text, 0, NULL);
		if (line)
			json_array_append_new(arr, json_pack("{s:I, s:o}", "job_id", (json_int_t)lines[i].job_id, "line", line));
		free(lines[i].text);
	}
	free(lines);
	char *text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	char err[256];
	if (!*c || PQstatus(*c) != CONNECTION_OK) {
		if (*c)
			PQfinish(*c);
		*c = db_connect(url, "shopperlake-joblogs", err, sizeof err);
	}
	if (text && *c && n > 0) {
		const char *p[1] = {text};
		struct store_error e;
		if (store_command(*c, sql_insert, 1, p, &e) == STORE_ERROR) {
			PQclear(e.res);
			dropped += n;
		}
	} else if (n > 0) {
		dropped += n;
	}
	free(text);
	if (dropped) /* no job_id in this line: it must not be queued itself */
		log_json(LOG_WARN, "job log lines not kept in the lake (stderr has them)",
			 json_pack("{s:I}", "lines", (json_int_t)dropped));
}

static void *writer_main(void *arg)
{
	struct joblog_writer *w = arg;
	PGconn *c = NULL;
	for (;;) {
		bool last = atomic_load(&w->stopping);
		flush(&c, w->app->cfg.database_url);
		if (last)
			break;
		util_pause(&w->lock, &w->wake, &w->stopping, TICK_MS);
	}
	if (c)
		PQfinish(c);
	return NULL;
}

struct joblog_writer *joblog_writer_start(struct app *app, char *err, size_t errlen)
{
	struct joblog_writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->app = app;
	atomic_init(&w->stopping, false);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the job log writer: %s", strerror(rc));
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		free(w);
		return NULL;
	}
	return w;
}

void joblog_writer_stop(struct joblog_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stopping, true);
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}
