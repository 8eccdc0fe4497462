/* SQL for control.job_logs (see job_logs_store.h). */
#include "control/job_logs_store.h"

#include <stdio.h>

static const char sql_list[] =
	"SELECT json_build_object('id', l.id, 'line', l.line) FROM control.job_logs l "
	"WHERE l.job_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3";
static const char sql_job_exists[] = "SELECT 'true' FROM control.jobs WHERE id = $1";

enum store_result job_logs_list(PGconn *c, long long job_id, long long after_id, int limit, json_t **items,
				bool *more, struct store_error *e)
{
	char job[24], after[24], lim[16];
	snprintf(job, sizeof job, "%lld", job_id);
	snprintf(after, sizeof after, "%lld", after_id);
	snprintf(lim, sizeof lim, "%d", limit + 1);
	const char *params[3] = {job, after, lim};
	json_t *exists = NULL;
	enum store_result r = store_one_json(c, sql_job_exists, 1, params, &exists, e);
	json_decref(exists);
	if (r != STORE_OK)
		return r;
	r = store_json_rows(c, sql_list, 3, params, items, e);
	if (r != STORE_OK)
		return r;
	*more = (int)json_array_size(*items) > limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}
