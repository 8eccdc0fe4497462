/* GET /v1/lineage: every source's path through the lake, source -> LAND ->
 * RAW -> TRUSTED -> REFINED, with exact row counts per hop, the rows rejected
 * into LAND and quarantined by TRUSTED (the SQL function control.lineage),
 * and the REFINED reports with the tables they read (the headers of
 * sql/refined/). Counting is bounded: 20 s for the whole answer, else 504. */
#include "handlers/handlers.h"
#include "jobs/layers/layers.h"

#include <stdlib.h>
#include <string.h>

#define LINEAGE_TIMEOUT "20s"

void handle_lineage(struct http_request *req)
{
	static const char *const allowed[] = {NULL};
	if (!http_check_query_names(req, allowed))
		return;
	json_t *reports = layers_refined_reports(req->app->cfg.home);
	if (!reports)
		reports = json_array();
	char *reports_text = json_dumps(reports, JSON_COMPACT);
	json_decref(reports);
	PGconn *c = reports_text ? http_db(req) : NULL;
	if (!c) {
		if (!reports_text)
			http_reply_problem(req, 500, "Internal error", NULL, NULL, "out of memory");
		free(reports_text);
		return;
	}
	PGresult *res = PQexec(c, "BEGIN READ ONLY");
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	res = NULL;
	if (ok) {
		res = PQexec(c, "SELECT set_config('statement_timeout', '" LINEAGE_TIMEOUT "', true)");
		ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
		res = NULL;
	}
	if (ok) {
		const char *params[] = {reports_text};
		res = PQexecParams(c, "SELECT control.lineage($1::jsonb)", 1, NULL, params, NULL, NULL, 0);
		ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	}
	json_t *body = NULL;
	if (ok) {
		json_error_t je;
		body = json_loads(PQgetvalue(res, 0, 0), 0, &je);
	}
	if (body) {
		http_reply_json(req, 200, body);
	} else if (res && db_sqlstate(res) && strcmp(db_sqlstate(res), "57014") == 0) {
		http_reply_problem(req, 504, "Query timeout", NULL, NULL,
				   "counting the lake's tables took more than " LINEAGE_TIMEOUT);
	} else {
		http_reply_db_error(req, res, c);
	}
	PQclear(res);
	PQclear(PQexec(c, "ROLLBACK"));
	http_db_done(req, c);
	free(reports_text);
}
