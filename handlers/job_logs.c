/* GET /v1/jobs/{id}/logs: the job's own log lines, oldest first, so nobody
 * greps the server's stderr; `cursor` (the last line's id) follows a
 * running job. */
#include "control/job_logs_store.h"
#include "handlers/handlers.h"

#define LIST_LIMIT_DEFAULT 500
#define LIST_LIMIT_MAX 5000

void handle_job_logs(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", NULL};
	long long id, limit, cursor;
	if (!http_path_id(req, "id", "job", &id) || !http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", LIST_LIMIT_DEFAULT, 1, LIST_LIMIT_MAX, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &cursor))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *items;
	bool more;
	enum store_result r = job_logs_list(c, id, cursor, (int)limit, &items, &more, &se);
	if (r == STORE_OK)
		handle_reply_page(req, items, more);
	else
		handle_reply_store(req, r, &se, c, "job", "id");
	http_db_done(req, c);
}
