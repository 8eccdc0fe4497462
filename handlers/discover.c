/* POST /v1/discover: what a source database holds, read through its kind's
 * discover function (jobs/sources/, the kind table): tables, columns with
 * their TRUSTED types, primary keys, change tracking. Each table comes with
 * a ready source `definition`; with `system` in the request the definitions
 * are complete (system and connection_secret filled in) and can be POSTed
 * as they are, all at once to /v1/sources/batch.
 *
 * The request waits for the source (its login timeout bounds it). A secret
 * the policy refuses, or a login the source refuses, is the request's
 * fault (422 on connection_secret); a source that does not answer is 502. */
#include "handlers/handlers.h"
#include "jobs/sources/kind.h"
#include "lib/secret.h"

#include <string.h>

static const char *const json_types[] = {"application/json", NULL};

void handle_discover(struct http_request *req)
{
	json_t *body = http_body_object(req, json_types), *out = NULL;
	if (!body)
		return;
	const char *type = json_string_value(json_object_get(body, "source_type"));
	const char *ref = json_string_value(json_object_get(body, "connection_secret"));
	json_t *schema = json_object_get(body, "schema"), *system = json_object_get(body, "system");
	const struct source_kind *kind = source_kind_find(type);
	const char *problem;
	struct load_error err = {0};

	if (!kind || !kind->discover) {
		http_reply_problem(req, 422, "Invalid field", "source_type", NULL,
				   "source_type must be a kind that can be discovered: sqlserver or postgresql");
	} else if (!ref) {
		http_reply_problem(req, 422, "Invalid field", "connection_secret", NULL, "connection_secret is required");
	} else if ((problem = secret_ref_problem(ref))) {
		http_reply_problem(req, 422, "Invalid field", "connection_secret", NULL, "connection_secret %s", problem);
	} else if (schema && (!json_is_string(schema) || json_string_length(schema) == 0 || json_string_length(schema) > 128)) {
		http_reply_problem(req, 422, "Invalid field", "schema", NULL, "schema must be a name of 1 to 128 characters");
	} else if (system && (!json_is_string(system) || json_string_length(system) > 63)) {
		http_reply_problem(req, 422, "Invalid field", "system", NULL,
				   "system must be a string (checked as a source's system when the definitions are registered)");
	} else if (kind->discover(ref, json_string_value(schema), &out, &err) != 0) {
		if (err.outcome == JOB_PERMANENT)
			http_reply_problem(req, 422, "Invalid field", "connection_secret", NULL, "%s", err.message);
		else
			http_reply_problem(req, 502, "Source unavailable", NULL, NULL, "%s", err.message);
	} else {
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(out, "tables"), i, t) {
			json_t *d = json_object_get(t, "definition");
			json_object_set_new(d, "connection_secret", json_string(ref));
			if (system)
				json_object_set(d, "system", system);
		}
		http_reply_json(req, 200, json_incref(out));
	}
	json_decref(out);
	json_decref(body);
}
