/* SQL for control.alerts (see alerts_store.h). Values are bound parameters. */
#include "control/alerts_store.h"

#include <stdio.h>

static const char sql_checks[] = "SELECT control.monitoring_checks($1::timestamptz, $2)";
static const char sql_list[] =
	"SELECT control.alert_json(a) FROM control.alerts a "
	"WHERE ($1::text IS NULL OR a.state = $1) AND ($2::bigint IS NULL OR a.source_id = $2) "
	"AND ($3::bigint = 0 OR a.id < $3) ORDER BY a.id DESC LIMIT $4";
static const char sql_get[] = "SELECT control.alert_json(a) FROM control.alerts a WHERE a.id = $1";

enum store_result alerts_run_checks(PGconn *c, const char *now, const char *scope, json_t **out,
				    struct store_error *e)
{
	const char *params[2] = {now, scope};
	return store_one_json(c, sql_checks, 2, params, out, e);
}

enum store_result alerts_list(PGconn *c, const struct alert_filter *f, json_t **items, bool *more,
			      struct store_error *e)
{
	char before[24], limit[16];
	snprintf(before, sizeof before, "%lld", f->before_id);
	snprintf(limit, sizeof limit, "%d", f->limit + 1);
	const char *params[4] = {f->state, f->source_id, before, limit};
	enum store_result r = store_json_rows(c, sql_list, 4, params, items, e);
	if (r != STORE_OK)
		return r;
	*more = (int)json_array_size(*items) > f->limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}

enum store_result alerts_get(PGconn *c, long long id, json_t **out, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[1] = {idbuf};
	return store_one_json(c, sql_get, 1, params, out, e);
}
