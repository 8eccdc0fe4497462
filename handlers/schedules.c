/* /v1/schedules: schedules over HTTP. Parse, validate, call the store,
 * answer; every refusal names the field at fault. Answers show the next five
 * fires counted from the scheduler's clock (scheduler/clock.h). */
#include "control/schedule_validate.h"
#include "control/schedules_store.h"
#include "control/sources_store.h"
#include "handlers/handlers.h"
#include "scheduler/clock.h"
#include "scheduler/tasks.h"

#include <stdio.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

static const char *const json_types[] = {"application/json", NULL};
static const char *const patch_types[] = {"application/merge-patch+json", "application/json", NULL};

static void reply_invalid(struct http_request *req, const struct validation_error *ve)
{
	http_reply_problem(req, 422, "Invalid field", ve->field, NULL, "%s %s", ve->field, ve->message);
}

/* A task without a runner is a target that cannot run: say so. */
static void add_task_problem(json_t *s)
{
	const struct sched_task *t = sched_task_find(json_string_value(json_object_get(s, "task")));
	if (t && !t->run)
		json_object_set_new(s, "target_problem", json_string("task not implemented yet"));
}

/* Checks what only the lake knows: the zone exists, the source exists.
 * Answers 422 (or the store failure) and returns false when not. */
static bool check_in_lake(struct http_request *req, PGconn *c, json_t *def, bool source_changed)
{
	struct store_error se;
	bool known = false;
	enum store_result r = schedules_timezone_known(c, json_string_value(json_object_get(def, "timezone")),
						       &known, &se);
	if (r != STORE_OK) {
		handle_reply_store(req, r, &se, c, "schedule", NULL);
		return false;
	}
	if (!known) {
		http_reply_problem(req, 422, "Invalid field", "timezone", NULL,
				   "timezone is not an IANA time zone name the lake knows, e.g. America/Sao_Paulo");
		return false;
	}
	json_t *sid = json_object_get(def, "source_id");
	if (!source_changed || !json_is_integer(sid))
		return true;
	json_t *src = NULL;
	r = sources_get(c, (long long)json_integer_value(sid), false, &src, &se);
	json_decref(src);
	if (r == STORE_OK)
		return true;
	if (r == STORE_NOT_FOUND)
		http_reply_problem(req, 422, "Invalid field", "source_id", NULL, "source_id %lld is not a source",
				   (long long)json_integer_value(sid));
	else
		handle_reply_store(req, r, &se, c, "schedule", NULL);
	return false;
}

static void set_location(struct http_request *req, json_t *s)
{
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/schedules/%lld", (long long)json_integer_value(json_object_get(s, "id")));
	http_add_header(req, MHD_HTTP_HEADER_LOCATION, loc);
}

void handle_schedules_create(struct http_request *req)
{
	struct validation_error ve;
	struct schedule_parsed parsed;
	struct store_error se;
	char clock[64];
	json_t *out = NULL;
	json_t *def = http_body_object(req, json_types);
	if (!def)
		return;
	if (schedule_validate(def, &parsed, &ve) != 0) {
		reply_invalid(req, &ve);
		goto out;
	}
	PGconn *c = http_db(req);
	if (!c)
		goto out;
	if (check_in_lake(req, c, def, true)) {
		sched_clock_now(req->app->cfg.test_clock, clock, sizeof clock);
		enum store_result r = schedules_insert(c, def, &parsed, clock, &out, &se);
		if (r == STORE_OK) {
			add_task_problem(out);
			http_reply_json(req, 201, json_incref(out));
			set_location(req, out);
		} else {
			handle_reply_store(req, r, &se, c, "schedule", "id");
		}
	}
	http_db_done(req, c);
out:
	json_decref(out);
	json_decref(def);
}

void handle_schedules_list(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", NULL};
	long long limit, cursor;
	char clock[64];
	if (!http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", LIST_LIMIT_DEFAULT, 1, LIST_LIMIT_MAX, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &cursor))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *items;
	bool more;
	sched_clock_now(req->app->cfg.test_clock, clock, sizeof clock);
	enum store_result r = schedules_list(c, cursor, (int)limit, clock, &items, &more, &se);
	if (r == STORE_OK) {
		size_t i;
		json_t *s;
		json_array_foreach(items, i, s)
			add_task_problem(s);
		handle_reply_page(req, items, more);
	} else {
		handle_reply_store(req, r, &se, c, "schedule", "id");
	}
	http_db_done(req, c);
}

void handle_schedule_get(struct http_request *req)
{
	long long id;
	char clock[64];
	if (!http_path_id(req, "id", "schedule", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *out;
	sched_clock_now(req->app->cfg.test_clock, clock, sizeof clock);
	enum store_result r = schedules_get(c, id, clock, false, &out, &se);
	if (r == STORE_OK) {
		add_task_problem(out);
		http_reply_json(req, 200, out);
	} else {
		handle_reply_store(req, r, &se, c, "schedule", "id");
	}
	http_db_done(req, c);
}

static bool same_string(json_t *a, json_t *b, const char *key)
{
	return json_equal(json_object_get(a, key), json_object_get(b, key));
}

void handle_schedule_patch(struct http_request *req)
{
	long long id;
	struct store_error se;
	struct validation_error ve;
	struct schedule_parsed parsed;
	json_t *patch = NULL, *current = NULL, *merged = NULL, *out = NULL;
	PGconn *c = NULL;
	char err[256], clock[64];

	if (!http_path_id(req, "id", "schedule", &id) || !(patch = http_body_object(req, patch_types)))
		return;
	if (!(c = http_db(req)))
		goto out;
	if (db_exec(c, "BEGIN", err, sizeof err) != 0) {
		http_reply_db_error(req, NULL, c);
		goto out;
	}
	sched_clock_now(req->app->cfg.test_clock, clock, sizeof clock);
	enum store_result r = schedules_get(c, id, clock, true, &current, &se);
	if (r != STORE_OK) {
		handle_reply_store(req, r, &se, c, "schedule", "id");
		goto out;
	}
	for (int i = 0; schedule_computed_fields[i]; i++)
		if (strcmp(schedule_computed_fields[i], "id") && strcmp(schedule_computed_fields[i], "created_at") &&
		    strcmp(schedule_computed_fields[i], "updated_at"))
			json_object_del(current, schedule_computed_fields[i]);
	if (!(merged = source_merge_patch(current, patch, &ve)) || schedule_validate(merged, &parsed, &ve) != 0) {
		reply_invalid(req, &ve);
		goto out;
	}
	if (!check_in_lake(req, c, merged, !same_string(current, merged, "source_id")))
		goto out;
	bool reschedule = !same_string(current, merged, "cron") || !same_string(current, merged, "timezone") ||
			  (!json_is_true(json_object_get(current, "active")) &&
			   json_is_true(json_object_get(merged, "active")));
	r = schedules_update(c, id, merged, &parsed, reschedule, clock, &out, &se);
	if (r != STORE_OK) {
		handle_reply_store(req, r, &se, c, "schedule", "id");
		goto out;
	}
	if (db_commit(c, err, sizeof err) != 0) {
		http_reply_db_error(req, NULL, c);
		goto out;
	}
	add_task_problem(out);
	http_reply_json(req, 200, json_incref(out));
out:
	if (c)
		http_db_done(req, c); /* rolls back whatever did not commit */
	json_decref(patch);
	json_decref(current);
	json_decref(merged);
	json_decref(out);
}

void handle_schedule_delete(struct http_request *req)
{
	long long id;
	if (!http_path_id(req, "id", "schedule", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	enum store_result r = schedules_delete(c, id, &se);
	if (r == STORE_OK)
		http_reply_empty(req, 204);
	else
		handle_reply_store(req, r, &se, c, "schedule", "id");
	http_db_done(req, c);
}

void handle_schedule_runs_list(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", NULL};
	long long id, limit, cursor;
	if (!http_path_id(req, "id", "schedule", &id) || !http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", 20, 1, 200, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &cursor))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *items;
	bool more;
	struct store_error se;
	enum store_result r = schedule_runs_list(c, id, cursor, (int)limit, &items, &more, &se);
	if (r == STORE_OK)
		handle_reply_page(req, items, more);
	else
		handle_reply_store(req, r, &se, c, "schedule", "id");
	http_db_done(req, c);
}
