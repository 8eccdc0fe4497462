/* Liveness, readiness and the contract: the three routes without a token. */
#include "handlers/handlers.h"
#include "server/migrate.h"

#include <stdlib.h>
#include <string.h>

void handle_healthz(struct http_request *req)
{
	http_reply_json(req, 200, json_pack("{s:s, s:s}", "status", "ok", "version", SHOPPERLAKE_VERSION));
}

void handle_readyz(struct http_request *req)
{
	PGconn *c = db_acquire(req->app->db, 2000);
	if (!c) {
		http_reply_problem(req, 503, "Not ready", NULL, NULL, "the lake database cannot be reached");
		return;
	}
	int applied = migrate_applied_count(c);
	db_release(req->app->db, c);
	if (applied < req->app->migrations_expected) {
		http_reply_problem(req, 503, "Not ready", NULL, NULL,
				   "migrations applied: %d of %d", applied < 0 ? 0 : applied,
				   req->app->migrations_expected);
		return;
	}
	http_reply_json(req, 200, json_pack("{s:s, s:s, s:i}", "status", "ready", "database", "ok",
					    "migrations", applied));
}

void handle_openapi(struct http_request *req)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		req->app->openapi_len, req->app->openapi_json, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	http_reply_response(req, 200, resp);
}
