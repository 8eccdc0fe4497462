/* What several handlers answer the same way: a failed store call, a page. */
#include "handlers/handlers.h"
#include "lib/log.h"

#include <stdio.h>

void handle_reply_store(struct http_request *req, enum store_result r, struct store_error *e,
			PGconn *c, const char *what, const char *field)
{
	if (r == STORE_NOT_FOUND)
		http_reply_problem(req, 404, "Not found", field, NULL, "no %s with this id", what);
	else if (r == STORE_CONFLICT)
		http_reply_problem(req, 409, "Conflict", NULL, NULL, "%s", e->detail);
	else if (r == STORE_UNREADABLE) {
		log_json(LOG_ERROR, "stored row unreadable",
			 json_pack("{s:s, s:s, s:s}", "request_id", req->request_id, "what", what, "error", e->detail));
		http_reply_problem(req, 500, "Internal error", NULL, NULL,
				   "a stored %s cannot be read (%s); the log has request id %s", what, e->detail,
				   req->request_id);
	}
	else
		http_reply_db_error(req, e->res, c);
	PQclear(e->res);
	e->res = NULL;
}

void handle_reply_page(struct http_request *req, json_t *items, bool more)
{
	json_t *next = json_null();
	if (more) {
		char cur[24];
		json_t *last = json_array_get(items, json_array_size(items) - 1);
		snprintf(cur, sizeof cur, "%lld", (long long)json_integer_value(json_object_get(last, "id")));
		next = json_string(cur);
	}
	http_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}
