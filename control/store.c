/* Runs control-schema statements and maps SQLSTATEs to store results. */
#include "control/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static enum store_result classify(PGresult *r, struct store_error *e)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	e->res = r;
	if (state && strcmp(state, "23505") == 0) {
		snprintf(e->detail, sizeof e->detail, "it already exists");
		const char *c = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
		if (c && (strcmp(c, "sources_system_database_object_key") == 0 ||
			  strcmp(c, "sources_system_object") == 0))
			snprintf(e->detail, sizeof e->detail,
				 "a source with this system and object already exists "
				 "(the lake names its tables <system>_<object>)");
		if (c && strcmp(c, "sources_lake_table") == 0)
			snprintf(e->detail, sizeof e->detail,
				 "another source already lands in the lake tables <system>_<object> of this one");
		return STORE_CONFLICT;
	}
	if (state && strcmp(state, "23503") == 0) {
		snprintf(e->detail, sizeof e->detail, "other records still refer to it");
		return STORE_CONFLICT;
	}
	return STORE_ERROR;
}

static enum store_result run(PGconn *c, const char *sql, int n, const char *const *params,
			     json_t **out, bool all, struct store_error *e)
{
	memset(e, 0, sizeof *e);
	*out = NULL;
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return classify(r, e);
	int rows = PQntuples(r);
	bool unreadable = false;
	json_error_t je;
	if (all) {
		*out = json_array();
		for (int i = 0; i < rows && !unreadable; i++) {
			json_t *v = json_loads(PQgetvalue(r, i, 0), JSON_DECODE_ANY, &je);
			unreadable = !v;
			json_array_append_new(*out, v);
		}
	} else if (rows > 0) {
		*out = json_loads(PQgetvalue(r, 0, 0), JSON_DECODE_ANY, &je);
		unreadable = !*out;
	}
	PQclear(r);
	if (!all && rows == 0)
		return STORE_NOT_FOUND;
	if (unreadable) {
		snprintf(e->detail, sizeof e->detail, "%.200s", je.text);
		json_decref(*out);
		*out = NULL;
		return STORE_UNREADABLE;
	}
	return *out ? STORE_OK : STORE_ERROR;
}

enum store_result store_one_json(PGconn *c, const char *sql, int n, const char *const *params,
				 json_t **out, struct store_error *e)
{
	return run(c, sql, n, params, out, false, e);
}

enum store_result store_json_rows(PGconn *c, const char *sql, int n, const char *const *params,
				  json_t **out, struct store_error *e)
{
	return run(c, sql, n, params, out, true, e);
}

enum store_result store_command(PGconn *c, const char *sql, int n, const char *const *params,
				struct store_error *e)
{
	memset(e, 0, sizeof *e);
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		return classify(r, e);
	enum store_result res = strcmp(PQcmdTuples(r), "0") == 0 ? STORE_NOT_FOUND : STORE_OK;
	PQclear(r);
	return res;
}
