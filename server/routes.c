/* Every endpoint in one table with the least role it needs: reads need a
 * reader, running and cancelling loads and pipelines an operator, the other
 * writes and the tokens an admin; health, readiness and the spec need none. Keep in step with
 * openapi/openapi.yaml (a test checks both list the same operations). The
 * dashboard's static files (everything under /ui) are no API operation: not
 * in the spec. */
#include "server/routes.h"
#include "handlers/handlers.h"

const struct route lake_routes[] = {
	{"GET", "/healthz", ROLE_PUBLIC, handle_healthz},
	{"GET", "/readyz", ROLE_PUBLIC, handle_readyz},
	{"GET", "/openapi.json", ROLE_PUBLIC, handle_openapi},
	{"GET", "/metrics", ROLE_READER, handle_metrics},

	{"GET", "/v1/sources", ROLE_READER, handle_sources_list},
	{"POST", "/v1/sources", ROLE_ADMIN, handle_sources_create},
	{"POST", "/v1/sources/batch", ROLE_ADMIN, handle_sources_batch},
	{"POST", "/v1/discover", ROLE_ADMIN, handle_discover},
	{"GET", "/v1/sources/{id}", ROLE_READER, handle_source_get},
	{"PATCH", "/v1/sources/{id}", ROLE_ADMIN, handle_source_patch},
	{"DELETE", "/v1/sources/{id}", ROLE_ADMIN, handle_source_delete},
	{"POST", "/v1/sources/{id}/loads", ROLE_OPERATOR, handle_load_create},

	{"GET", "/v1/jobs", ROLE_READER, handle_jobs_list},
	{"GET", "/v1/jobs/{id}", ROLE_READER, handle_job_get},
	{"POST", "/v1/jobs/{id}/cancel", ROLE_OPERATOR, handle_job_cancel},
	{"GET", "/v1/jobs/{id}/logs", ROLE_READER, handle_job_logs},

	{"GET", "/v1/pipelines", ROLE_READER, handle_pipelines_list},
	{"POST", "/v1/pipelines/{name}/runs", ROLE_OPERATOR, handle_pipeline_run_create},
	{"GET", "/v1/pipelines/{name}/runs", ROLE_READER, handle_pipeline_runs_list},
	{"GET", "/v1/pipelines/{name}/runs/{run_id}", ROLE_READER, handle_pipeline_run_get},

	{"GET", "/v1/schedules", ROLE_READER, handle_schedules_list},
	{"POST", "/v1/schedules", ROLE_ADMIN, handle_schedules_create},
	{"GET", "/v1/schedules/{id}", ROLE_READER, handle_schedule_get},
	{"PATCH", "/v1/schedules/{id}", ROLE_ADMIN, handle_schedule_patch},
	{"DELETE", "/v1/schedules/{id}", ROLE_ADMIN, handle_schedule_delete},
	{"GET", "/v1/schedules/{id}/runs", ROLE_READER, handle_schedule_runs_list},

	{"GET", "/v1/alerts", ROLE_READER, handle_alerts_list},
	{"GET", "/v1/alerts/{id}", ROLE_READER, handle_alert_get},
	{"GET", "/v1/audit", ROLE_ADMIN, handle_audit_list},

	{"GET", "/v1/tables", ROLE_READER, handle_tables_list},
	{"GET", "/v1/tables/{layer}/{table}", ROLE_READER, handle_table_query},
	{"GET", "/v1/tables/{layer}/{table}/columns", ROLE_READER, handle_table_columns},

	{"GET", "/v1/lineage", ROLE_READER, handle_lineage},

	{"GET", "/ui/*", ROLE_PUBLIC, handle_ui},

	{"GET", "/v1/tokens", ROLE_ADMIN, handle_tokens_list},
	{"POST", "/v1/tokens", ROLE_ADMIN, handle_tokens_create},
	{"DELETE", "/v1/tokens/{id}", ROLE_ADMIN, handle_token_revoke},
	{"GET", "/v1/me", ROLE_READER, handle_me},
};

const size_t lake_routes_count = sizeof lake_routes / sizeof lake_routes[0];
