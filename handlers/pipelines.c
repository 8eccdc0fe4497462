/* Pipelines (the seed's DAGs): list them, start a run, show runs. */
#include "control/jobs_store.h"
#include "handlers/handlers.h"

#include <stdio.h>
#include <string.h>

static bool pipeline_known(struct http_request *req, const char **name)
{
	char system[128];
	const char *type, *load;
	*name = route_param(&req->params, "name");
	if (*name && pipeline_name_parse(*name, system, sizeof system, &type, &load))
		return true;
	http_reply_problem(req, 404, "Not found", "name", NULL,
			   "pipelines are named <system>_<source_type>_<load_type>, e.g. marketplace_postgresql_full");
	return false;
}

void handle_pipelines_list(struct http_request *req)
{
	static const char *const allowed[] = {NULL};
	if (!http_check_query_names(req, allowed))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *items;
	struct store_error se;
	enum store_result r = pipelines_list(c, &items, &se);
	if (r == STORE_OK)
		http_reply_json(req, 200, json_pack("{s:o}", "items", items));
	else
		handle_reply_store(req, r, &se, c, "pipeline", NULL);
	http_db_done(req, c);
}

void handle_pipeline_run_create(struct http_request *req)
{
	const char *name;
	if (!pipeline_known(req, &name))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *run;
	struct store_error se;
	enum store_result r = pipeline_run_create(c, name, req->app->cfg.job_max_attempts, &run, &se);
	if (r == STORE_OK) {
		char loc[256];
		snprintf(loc, sizeof loc, "/v1/pipelines/%s/runs/%lld", name,
			 (long long)json_integer_value(json_object_get(run, "id")));
		http_reply_json(req, 202, run);
		http_add_header(req, MHD_HTTP_HEADER_LOCATION, loc);
	} else if (r == STORE_NOT_FOUND) {
		http_reply_problem(req, 404, "Not found", "name", NULL, "pipeline %s has no active source", name);
	} else {
		handle_reply_store(req, r, &se, c, "pipeline", NULL);
	}
	http_db_done(req, c);
}

void handle_pipeline_runs_list(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", NULL};
	const char *name;
	long long limit, cursor;
	if (!pipeline_known(req, &name) || !http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", 20, 1, 200, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &cursor))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *items;
	bool more;
	struct store_error se;
	enum store_result r = pipeline_runs_list(c, name, cursor, (int)limit, &items, &more, &se);
	if (r == STORE_OK)
		handle_reply_page(req, items, more);
	else
		handle_reply_store(req, r, &se, c, "pipeline run", NULL);
	http_db_done(req, c);
}

void handle_pipeline_run_get(struct http_request *req)
{
	const char *name;
	long long id;
	if (!pipeline_known(req, &name) || !http_path_id(req, "run_id", "pipeline run", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *run;
	struct store_error se;
	enum store_result r = pipeline_run_get(c, name, id, &run, &se);
	if (r == STORE_OK)
		http_reply_json(req, 200, run);
	else
		handle_reply_store(req, r, &se, c, "pipeline run", NULL);
	http_db_done(req, c);
}
