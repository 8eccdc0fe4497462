/* /v1/audit: who changed what, newest first — sources, schedules, tokens
 * (from the audit trigger) and the layer and report SQL files (seen at
 * start). Admin only: it shows every definition and token name. */
#include "control/audit_store.h"
#include "handlers/handlers.h"

#include <string.h>

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

void handle_audit_list(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", "entity", "entity_id", NULL};
	static const char *const entities[] = {"source", "schedule", "token", "sql_file", NULL};
	struct audit_filter f = {0};
	long long limit, cursor;

	if (!http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", LIST_LIMIT_DEFAULT, 1, LIST_LIMIT_MAX, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &cursor))
		return;
	f.limit = (int)limit;
	f.before_id = cursor;
	f.entity = http_query(req, "entity");
	f.entity_id = http_query(req, "entity_id");
	bool known = !f.entity;
	for (const char *const *e = entities; f.entity && *e; e++)
		known = known || strcmp(f.entity, *e) == 0;
	if (!known) {
		http_reply_problem(req, 400, "Invalid query parameter", "entity", NULL,
				   "entity must be one of: source, schedule, token, sql_file");
		return;
	}
	if (f.entity_id && strlen(f.entity_id) > 200) {
		http_reply_problem(req, 400, "Invalid query parameter", "entity_id", NULL, "entity_id is too long");
		return;
	}
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *items;
	bool more;
	enum store_result r = audit_list(c, &f, &items, &more, &se);
	if (r == STORE_OK)
		handle_reply_page(req, items, more);
	else
		handle_reply_store(req, r, &se, c, "audit event", NULL);
	http_db_done(req, c);
}
