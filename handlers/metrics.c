/* GET /metrics: Prometheus text format (0.0.4), behind a reader token.
 * This server's own HTTP requests (lib/metrics.c) and lake pool, then the
 * lake's figures, the same from every server (control.metrics in
 * sql/functions/): jobs by state and source type, job durations, the queue,
 * rows loaded, quarantined and rejected per source, each source's age and
 * health, alerts firing, the database's size. When the lake cannot be
 * reached the answer still comes, with shopperlake_lake_up 0. */
#include "handlers/handlers.h"
#include "lib/metrics.h"
#include "scheduler/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct family {
	const char *name, *type, *help;
};

/* The lake's families, in the order they are written. */
static const struct family families[] = {
	{"shopperlake_jobs", "gauge", "Jobs in the lake's history by state and source type."},
	{"shopperlake_job_duration_seconds", "histogram", "Run time of DONE jobs, by source type."},
	{"shopperlake_queue_depth", "gauge", "Jobs queued and not started."},
	{"shopperlake_queue_oldest_age_seconds", "gauge", "Age of the oldest queued job (0 when none)."},
	{"shopperlake_source_rows_loaded_total", "counter", "Rows written by the source's DONE loads."},
	{"shopperlake_source_rows_quarantined_total", "counter", "Rows of the source's DONE loads put in quarantine by TRUSTED."},
	{"shopperlake_source_rows_rejected_total", "counter", "Rows of the source's files that did not fit (LAND's _rejects)."},
	{"shopperlake_source_age_seconds", "gauge", "Seconds since the source's last successful load (sftp: its newest file)."},
	{"shopperlake_source_health", "gauge", "1 for the source's current health state, 0 for the others."},
	{"shopperlake_source_ct_headroom_seconds", "gauge", "Seconds the source's change tracking still keeps the changes since the last load (SQL Server; 0 when they are lost)."},
	{"shopperlake_alerts_firing", "gauge", "Alerts firing, by alert name and severity."},
	{"shopperlake_lake_database_bytes", "gauge", "Size of the lake database."},
	{"shopperlake_lake_table_bytes", "gauge", "Size of the ten largest tables of the lake's schemas (with indexes and TOAST)."},
};

static bool in_family(const char *m, const char *family)
{
	size_t n = strlen(family);
	return strncmp(m, family, n) == 0 &&
	       (!m[n] || !strcmp(m + n, "_bucket") || !strcmp(m + n, "_sum") || !strcmp(m + n, "_count"));
}

static void write_sample(FILE *out, json_t *row)
{
	const char *key;
	json_t *v;
	int first = 1;
	fputs(json_string_value(json_object_get(row, "m")), out);
	json_object_foreach(json_object_get(row, "l"), key, v) {
		fprintf(out, "%s%s=\"", first ? "{" : ",", key);
		metrics_write_label_value(out, json_is_string(v) ? json_string_value(v) : "");
		fputc('"', out);
		first = 0;
	}
	fprintf(out, "%s %.17g\n", first ? "" : "}", json_number_value(json_object_get(row, "v")));
}

static int lake_samples(struct http_request *req, json_t **rows)
{
	char clock[64];
	struct store_error e;
	PGconn *c = db_acquire(req->app->db, 2000);
	if (!c)
		return -1;
	sched_clock_now(req->app->cfg.test_clock, clock, sizeof clock);
	const char *p[1] = {clock};
	enum store_result r = store_json_rows(c, "SELECT control.metrics($1::timestamptz)", 1, p, rows, &e);
	if (r != STORE_OK)
		PQclear(e.res);
	db_release(req->app->db, c);
	return r == STORE_OK ? 0 : -1;
}

void handle_metrics(struct http_request *req)
{
	static const char *const allowed[] = {NULL};
	if (!http_check_query_names(req, allowed))
		return;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		http_reply_problem(req, 500, "Internal error", NULL, NULL, "out of memory");
		return;
	}
	metrics_http_write(out);
	int size, open, idle;
	db_pool_stats(req->app->db, &size, &open, &idle);
	fprintf(out, "# HELP shopperlake_db_pool_connections This server's lake connections for HTTP requests.\n"
		     "# TYPE shopperlake_db_pool_connections gauge\n"
		     "shopperlake_db_pool_connections{state=\"in_use\"} %d\n"
		     "shopperlake_db_pool_connections{state=\"idle\"} %d\n"
		     "# HELP shopperlake_db_pool_size The most lake connections this server's HTTP requests may hold.\n"
		     "# TYPE shopperlake_db_pool_size gauge\n"
		     "shopperlake_db_pool_size %d\n", open - idle, idle, size);

	json_t *rows = NULL;
	int up = lake_samples(req, &rows) == 0;
	fprintf(out, "# HELP shopperlake_lake_up 1 when this scrape could read the lake's figures.\n"
		     "# TYPE shopperlake_lake_up gauge\nshopperlake_lake_up %d\n", up);
	for (size_t f = 0; up && f < sizeof families / sizeof families[0]; f++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help, families[f].name,
			families[f].type);
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row)
			if (in_family(json_string_value(json_object_get(row, "m")), families[f].name))
				write_sample(out, row);
	}
	json_decref(rows);
	fclose(out);
	/* MUST_FREE: libmicrohttpd frees `text` once sent. */
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		http_reply_problem(req, 500, "Internal error", NULL, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	http_reply_response(req, 200, resp);
}
