/* Every HTTP handler, one file per resource; server/routes.c maps paths to them. */
#ifndef LAKE_HANDLERS_H
#define LAKE_HANDLERS_H

#include "server/http.h"

/* health.c */
void handle_healthz(struct http_request *req);
void handle_readyz(struct http_request *req);
void handle_openapi(struct http_request *req);

/* sources.c */
void handle_sources_list(struct http_request *req);
void handle_sources_create(struct http_request *req);
void handle_source_get(struct http_request *req);
void handle_source_patch(struct http_request *req);
void handle_source_delete(struct http_request *req);
void handle_sources_batch(struct http_request *req);

/* discover.c */
void handle_discover(struct http_request *req);

/* jobs.c */
void handle_load_create(struct http_request *req);
void handle_jobs_list(struct http_request *req);
void handle_job_get(struct http_request *req);
void handle_job_cancel(struct http_request *req);
/* common.c: answers a failed store call (404 naming `what`, with `field`
 * when given; 409 with the detail; or 5xx), and a keyset page
 * {items, next_cursor} whose cursor is the last item's id. */
#include "control/store.h"
void handle_reply_store(struct http_request *req, enum store_result r, struct store_error *e,
			PGconn *c, const char *what, const char *field);
void handle_reply_page(struct http_request *req, json_t *items, bool more);

/* pipelines.c */
void handle_pipelines_list(struct http_request *req);
void handle_pipeline_run_create(struct http_request *req);
void handle_pipeline_runs_list(struct http_request *req);
void handle_pipeline_run_get(struct http_request *req);

/* tokens.c */
void handle_tokens_create(struct http_request *req);
void handle_tokens_list(struct http_request *req);
void handle_token_revoke(struct http_request *req);
void handle_me(struct http_request *req);

/* schedules.c */
void handle_schedules_list(struct http_request *req);
void handle_schedules_create(struct http_request *req);
void handle_schedule_get(struct http_request *req);
void handle_schedule_patch(struct http_request *req);
void handle_schedule_delete(struct http_request *req);
void handle_schedule_runs_list(struct http_request *req);

/* lineage.c */
void handle_lineage(struct http_request *req);

/* static.c: the dashboard's files under web/, at /ui/ */
void handle_ui(struct http_request *req);

/* job_logs.c */
void handle_job_logs(struct http_request *req);

/* metrics.c */
void handle_metrics(struct http_request *req);

/* audit.c */
void handle_audit_list(struct http_request *req);

/* alerts.c */
void handle_alerts_list(struct http_request *req);
void handle_alert_get(struct http_request *req);

/* tables.c */
void handle_tables_list(struct http_request *req);
void handle_table_query(struct http_request *req);
void handle_table_columns(struct http_request *req);

#endif
