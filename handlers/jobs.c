/* Loads and jobs: POST /v1/sources/{id}/loads queues one; /v1/jobs shows
 * and cancels them. Handlers only write rows; workers do the loading. */
#include "control/jobs_store.h"
#include "handlers/handlers.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

static const char *const json_types[] = {"application/json", NULL};

static void set_job_location(struct http_request *req, json_t *job)
{
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/jobs/%lld", (long long)json_integer_value(json_object_get(job, "id")));
	http_add_header(req, MHD_HTTP_HEADER_LOCATION, loc);
}

void handle_load_create(struct http_request *req)
{
	long long id;
	json_t *body = NULL, *job = NULL;
	const char *load_type;
	if (!http_path_id(req, "id", "source", &id) || !(body = http_body_object(req, json_types)))
		return;

	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "load_type") != 0) {
			http_reply_problem(req, 422, "Invalid field", key, NULL, "%s is not a field of a load request", key);
			goto out;
		}
	}
	load_type = json_string_value(json_object_get(body, "load_type"));
	if (!load_type || (strcmp(load_type, "full") && strcmp(load_type, "incremental"))) {
		http_reply_problem(req, 422, "Invalid field", "load_type", NULL, "load_type must be full or incremental");
		goto out;
	}
	const char *idem = http_header(req, "Idempotency-Key");
	if (idem && (strlen(idem) == 0 || strlen(idem) > 255 || !util_utf8_valid(idem))) {
		http_reply_problem(req, 400, "Invalid header", "Idempotency-Key", NULL,
				   "Idempotency-Key must have 1 to 255 characters of UTF-8 text");
		goto out;
	}
	PGconn *c = http_db(req);
	if (!c)
		goto out;
	bool replayed;
	enum load_refusal refusal;
	struct store_error se;
	enum store_result r = jobs_create_load(c, id, load_type, idem, req->app->cfg.job_max_attempts, &job,
					       &replayed, &refusal, &se);
	if (r == STORE_OK) {
		http_reply_json(req, 202, json_incref(job));
		set_job_location(req, job);
		if (replayed)
			http_add_header(req, "Idempotent-Replayed", "true");
	} else if (refusal == LOAD_NO_SOURCE) {
		http_reply_problem(req, 404, "Not found", "id", NULL, "no source with this id");
	} else if (refusal == LOAD_INACTIVE) {
		http_reply_problem(req, 409, "Conflict", "active", NULL,
				   "the source is inactive; PATCH it with {\"active\": true} to load it");
	} else if (refusal == LOAD_KEY_REUSED) {
		http_reply_problem(req, 409, "Conflict", "Idempotency-Key", NULL,
				   "this Idempotency-Key was used for another load of this source");
	} else if (refusal == LOAD_FULL_ONLY) {
		http_reply_problem(req, 422, "Invalid field", "load_type", NULL,
				   "this source loads in full only (its load_type is full, with no offset to load "
				   "changes from); ask for a full load, or PATCH it to incremental with an offset_mode");
	} else {
		handle_reply_store(req, r, &se, c, "source", NULL);
	}
	PQclear(se.res);
	http_db_done(req, c);
out:
	json_decref(job);
	json_decref(body);
}

static bool valid_state(const char *s)
{
	static const char *const states[] = {"JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "JOB_STATE_CANCELLING",
					     "JOB_STATE_DONE", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", NULL};
	for (const char *const *p = states; *p; p++)
		if (strcmp(*p, s) == 0)
			return true;
	return false;
}

void handle_jobs_list(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", "state", "source_id", "pipeline_run_id", NULL};
	struct job_filter f = {0};
	long long limit;
	if (!http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", LIST_LIMIT_DEFAULT, 1, LIST_LIMIT_MAX, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &f.before_id) ||
	    !http_query_int(req, "source_id", 0, 0, 999999999999999999LL, &f.source_id) ||
	    !http_query_int(req, "pipeline_run_id", 0, 0, 999999999999999999LL, &f.pipeline_run_id))
		return;
	f.limit = (int)limit;
	f.state = http_query(req, "state");
	if (f.state && !valid_state(f.state)) {
		http_reply_problem(req, 400, "Invalid query parameter", "state", NULL,
				   "state must be one of JOB_STATE_QUEUED, JOB_STATE_RUNNING, JOB_STATE_CANCELLING, "
				   "JOB_STATE_DONE, JOB_STATE_FAILED, JOB_STATE_CANCELLED");
		return;
	}
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *items;
	bool more;
	struct store_error se;
	enum store_result r = jobs_list(c, &f, &items, &more, &se);
	if (r != STORE_OK)
		handle_reply_store(req, r, &se, c, "job", NULL);
	else
		handle_reply_page(req, items, more);
	http_db_done(req, c);
}

void handle_job_get(struct http_request *req)
{
	long long id;
	if (!http_path_id(req, "id", "job", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *job;
	struct store_error se;
	enum store_result r = jobs_get(c, id, &job, &se);
	if (r == STORE_OK)
		http_reply_json(req, 200, job);
	else
		handle_reply_store(req, r, &se, c, "job", NULL);
	http_db_done(req, c);
}

void handle_job_cancel(struct http_request *req)
{
	long long id;
	if (!http_path_id(req, "id", "job", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *job;
	struct store_error se;
	enum store_result r = jobs_cancel(c, id, &job, &se);
	if (r == STORE_OK)
		http_reply_json(req, 202, job);
	else
		handle_reply_store(req, r, &se, c, "job", NULL);
	http_db_done(req, c);
}
