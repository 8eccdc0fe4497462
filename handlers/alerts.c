/* /v1/alerts: what the monitoring checks raised, firing and resolved, newest
 * first, with where each was delivered. */
#include "control/alerts_store.h"
#include "handlers/handlers.h"

#include <stdio.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

void handle_alerts_list(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", "state", "source_id", NULL};
	struct alert_filter f = {0};
	long long limit, cursor, source_id;
	char sid[24];

	if (!http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", LIST_LIMIT_DEFAULT, 1, LIST_LIMIT_MAX, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &cursor) ||
	    !http_query_int(req, "source_id", 0, 0, 999999999999999999LL, &source_id))
		return;
	f.limit = (int)limit;
	f.before_id = cursor;
	f.state = http_query(req, "state");
	if (f.state && strcmp(f.state, "firing") && strcmp(f.state, "resolved")) {
		http_reply_problem(req, 400, "Invalid query parameter", "state", NULL, "state must be firing or resolved");
		return;
	}
	if (http_query(req, "source_id")) {
		snprintf(sid, sizeof sid, "%lld", source_id);
		f.source_id = sid;
	}
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *items;
	bool more;
	enum store_result r = alerts_list(c, &f, &items, &more, &se);
	if (r == STORE_OK)
		handle_reply_page(req, items, more);
	else
		handle_reply_store(req, r, &se, c, "alert", NULL);
	http_db_done(req, c);
}

void handle_alert_get(struct http_request *req)
{
	long long id;
	if (!http_path_id(req, "id", "alert", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *out;
	enum store_result r = alerts_get(c, id, &out, &se);
	if (r == STORE_OK)
		http_reply_json(req, 200, out);
	else
		handle_reply_store(req, r, &se, c, "alert", "id");
	http_db_done(req, c);
}
