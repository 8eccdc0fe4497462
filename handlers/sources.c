/* /v1/sources: the control table over HTTP. Parse, validate, call the
 * store, answer; every refusal names the field at fault. */
#include "control/source_validate.h"
#include "jobs/sources/kind.h"
#include "control/sources_store.h"
#include "handlers/handlers.h"
#include "scheduler/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

static const char *const json_types[] = {"application/json", NULL};
static const char *const patch_types[] = {"application/merge-patch+json", "application/json", NULL};

static void reply_invalid(struct http_request *req, const struct validation_error *ve)
{
	http_reply_problem(req, 422, "Invalid field", ve->field, NULL, "%s %s", ve->field, ve->message);
}

/* Answers 409 naming the other source when one already owns a lake table
 * `def` would use; true when they are all free. The unique index on
 * control.sources.lake_table also catches a concurrent twin. */
static bool lake_name_free(struct http_request *req, PGconn *c, json_t *def, long long id)
{
	struct lake_owner o;
	struct store_error se;
	enum store_result r = sources_lake_name_owner(c, def, id, &o, &se);
	if (r != STORE_OK) {
		handle_reply_store(req, r, &se, c, "source", "id");
		return false;
	}
	if (!o.id)
		return true;
	char mine[160];
	snprintf(mine, sizeof mine, "%s.%s", json_string_value(json_object_get(def, "system")),
		 json_string_value(json_object_get(def, "object")));
	http_reply_problem(req, 409, "Conflict", "object", json_pack("{s:I}", "conflicting_source_id", (json_int_t)o.id),
			   "%s: source %lld (%s) already uses the lake table %s; choose another system or object",
			   strcmp(mine, o.who) == 0 ? "a source with this system and object already exists"
						    : "a source with this lake name already exists",
			   o.id, o.who, o.table);
	return false;
}

/* What choosing watermark mode costs, said in the answer of POST and PATCH
 * (the spec and the README say it too). */
static json_t *with_warnings(json_t *source)
{
	const char *mode = json_string_value(json_object_get(source, "offset_mode"));
	if (mode && strcmp(mode, "watermark") == 0)
		json_object_set_new(source, "warnings", json_pack("[s, s]",
			"offset_mode watermark loads rows whose offset_column is above the last value seen: rows of "
			"transactions that commit late, with a value below one already loaded, are never loaded "
			"(change_tracking does not miss them)",
			"offset_mode watermark never sees deletes: rows deleted in the source stay in TRUSTED until "
			"a full load"));
	return source;
}

static void set_location(struct http_request *req, json_t *source)
{
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/sources/%lld", (long long)json_integer_value(json_object_get(source, "id")));
	http_add_header(req, MHD_HTTP_HEADER_LOCATION, loc);
}

void handle_sources_create(struct http_request *req)
{
	struct validation_error ve;
	struct store_error se;
	json_t *out = NULL;
	json_t *def = http_body_object(req, json_types);
	if (!def)
		return;
	if (source_validate(def, &ve) != 0) {
		reply_invalid(req, &ve);
		goto out;
	}
	PGconn *c = http_db(req);
	if (!c)
		goto out;
	if (!lake_name_free(req, c, def, 0)) {
		http_db_done(req, c);
		goto out;
	}
	enum store_result r = sources_insert(c, def, &out, &se);
	if (r == STORE_OK) {
		http_reply_json(req, 201, with_warnings(json_deep_copy(out)));
		set_location(req, out);
	} else {
		handle_reply_store(req, r, &se, c, "source", "id");
	}
	http_db_done(req, c);
out:
	json_decref(out);
	json_decref(def);
}

#define BATCH_MAX 500

/* POST /v1/sources/batch {"sources": [definition, ...]}: registers them all
 * in one transaction, or none: the first invalid definition answers 422
 * with its path ("sources[3].columns[1].type"), a lake name in use 409
 * naming the index. */
void handle_sources_batch(struct http_request *req)
{
	struct validation_error ve;
	struct store_error se;
	char err[256], field[200];
	PGconn *c = NULL;
	json_t *body = http_body_object(req, json_types), *items = json_array();
	if (!body)
		goto out;
	json_t *defs = json_object_get(body, "sources");
	if (!json_is_array(defs) || json_array_size(defs) == 0 || json_array_size(defs) > BATCH_MAX) {
		http_reply_problem(req, 422, "Invalid field", "sources", NULL, "sources must be an array of 1 to %d source definitions",
				   BATCH_MAX);
		goto out;
	}
	size_t i;
	json_t *def;
	json_array_foreach(defs, i, def) {
		if (!json_is_object(def) || source_validate(def, &ve) != 0) {
			snprintf(field, sizeof field, "sources[%zu]%s%s", i, json_is_object(def) ? "." : "",
				 json_is_object(def) ? ve.field : "");
			http_reply_problem(req, 422, "Invalid field", field, NULL, "%s %s", field,
					   json_is_object(def) ? ve.message : "must be a source definition (an object)");
			goto out;
		}
	}
	if (!(c = http_db(req)))
		goto out;
	if (db_exec(c, "BEGIN", err, sizeof err) != 0) {
		http_reply_db_error(req, NULL, c);
		goto out;
	}
	json_array_foreach(defs, i, def) {
		json_t *stored = NULL;
		if (!lake_name_free(req, c, def, 0))
			goto out;
		enum store_result r = sources_insert(c, def, &stored, &se);
		if (r != STORE_OK) {
			handle_reply_store(req, r, &se, c, "source", "sources");
			goto out;
		}
		json_array_append_new(items, with_warnings(stored));
	}
	if (db_commit(c, err, sizeof err) != 0) {
		http_reply_db_error(req, NULL, c);
		goto out;
	}
	http_reply_json(req, 201, json_pack("{s:O}", "items", items));
out:
	if (c)
		http_db_done(req, c); /* rolls back whatever did not commit */
	json_decref(items);
	json_decref(body);
}

void handle_sources_list(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", "system", "source_type", "active", "health", NULL};
	static const char *const states[] = {"fresh", "late", "stale", "failing", "unknown", "inactive", NULL};
	struct source_filter f = {0};
	long long limit, cursor;
	char clock[64];

	if (!http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", LIST_LIMIT_DEFAULT, 1, LIST_LIMIT_MAX, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &cursor))
		return;
	f.limit = (int)limit;
	f.after_id = cursor;
	f.system = http_query(req, "system");
	f.source_type = http_query(req, "source_type");
	f.active = http_query(req, "active");
	if (f.active && strcmp(f.active, "true") && strcmp(f.active, "false")) {
		http_reply_problem(req, 400, "Invalid query parameter", "active", NULL, "active must be true or false");
		return;
	}
	f.health = http_query(req, "health");
	bool known = !f.health;
	for (const char *const *st = states; f.health && *st; st++)
		known = known || strcmp(f.health, *st) == 0;
	if (!known) {
		http_reply_problem(req, 400, "Invalid query parameter", "health", NULL,
				   "health must be one of: fresh, late, stale, failing, unknown, inactive");
		return;
	}
	sched_clock_now(req->app->cfg.test_clock, clock, sizeof clock);
	f.now = clock;
	if (f.source_type && !source_kind_find(f.source_type)) {
		http_reply_problem(req, 400, "Invalid query parameter", "source_type", NULL,
				   "source_type must be one of: sqlserver, postgresql, api, sftp");
		return;
	}
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *items;
	bool more;
	enum store_result r = sources_list(c, &f, &items, &more, &se);
	http_db_done(req, c);
	if (r != STORE_OK) {
		handle_reply_store(req, r, &se, NULL, "source", "id");
		return;
	}
	handle_reply_page(req, items, more);
}

void handle_source_get(struct http_request *req)
{
	long long id;
	if (!http_path_id(req, "id", "source", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *out;
	char clock[64];
	sched_clock_now(req->app->cfg.test_clock, clock, sizeof clock);
	enum store_result r = sources_get_health(c, id, clock, &out, &se);
	if (r == STORE_OK)
		http_reply_json(req, 200, out);
	else
		handle_reply_store(req, r, &se, c, "source", "id");
	http_db_done(req, c);
}

void handle_source_patch(struct http_request *req)
{
	long long id;
	struct store_error se;
	struct validation_error ve;
	json_t *patch = NULL, *current = NULL, *merged = NULL, *out = NULL;
	PGconn *c = NULL;
	char err[256];

	if (!http_path_id(req, "id", "source", &id) || !(patch = http_body_object(req, patch_types)))
		return;
	if (!(c = http_db(req)))
		goto out;
	if (db_exec(c, "BEGIN", err, sizeof err) != 0) {
		http_reply_db_error(req, NULL, c);
		goto out;
	}
	enum store_result r = sources_get(c, id, true, &current, &se);
	if (r != STORE_OK) {
		handle_reply_store(req, r, &se, c, "source", "id");
		goto out;
	}
	if (!(merged = source_merge_patch(current, patch, &ve)) || source_validate(merged, &ve) != 0) {
		reply_invalid(req, &ve);
		goto out;
	}
	if (!lake_name_free(req, c, merged, id))
		goto out;
	r = sources_update(c, id, merged, &out, &se);
	if (r != STORE_OK) {
		handle_reply_store(req, r, &se, c, "source", "id");
		goto out;
	}
	if (db_commit(c, err, sizeof err) != 0) {
		http_reply_db_error(req, NULL, c);
		goto out;
	}
	http_reply_json(req, 200, with_warnings(json_incref(out)));
out:
	if (c)
		http_db_done(req, c); /* rolls back whatever did not commit */
	json_decref(patch);
	json_decref(current);
	json_decref(merged);
	json_decref(out);
}

void handle_source_delete(struct http_request *req)
{
	long long id;
	if (!http_path_id(req, "id", "source", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	enum store_result r = sources_delete(c, id, &se);
	if (r == STORE_OK)
		http_reply_empty(req, 204);
	else
		handle_reply_store(req, r, &se, c, "source", "id");
	http_db_done(req, c);
}
