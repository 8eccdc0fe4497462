/* RAW: the load's LAND partition attached to the source's RAW history (or
 * its rows copied, see layers.raw_append), inside the load's own lake
 * transaction; or the table's override sql/layers/<table>.raw.sql. */
#include "jobs/layers/layers.h"
#include "lib/db.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>

int layers_raw(struct worker_slot *w, long long job_id, long long source_id, const char *table, long long land_rows,
	       json_t *steps, struct load_error *err)
{
	char started[40], id[24], src[24], msg[512];
	util_now_iso(started, sizeof started);
	snprintf(id, sizeof id, "%lld", job_id);
	snprintf(src, sizeof src, "%lld", source_id);
	const char *params[2] = {src, id};

	char *override = layers_override(w, table, "raw");
	if (override) {
		int rc = db_exec_params(w->lake, "SELECT set_config('shopperlake.source_id', $1, true)", 1, params, msg,
					sizeof msg);
		if (rc == 0)
			rc = db_exec(w->lake, override, msg, sizeof msg);
		free(override);
		if (rc != 0)
			return load_fail(err, job_lake_outcome(w), "raw override: %s", msg);
		json_array_append_new(steps, job_step(STEP_RAW, JOB_STATE_DONE, started, 0));
		return 0;
	}
	PGresult *r = PQexecParams(w->lake, "SELECT layers.raw_append($1, $2)", 2, NULL, params, NULL, NULL, 0);
	json_t *res = PQresultStatus(r) == PGRES_TUPLES_OK ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
	if (!res) {
		load_fail(err, JOB_TRANSIENT, "raw: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	/* the step says whether RAW took LAND's partition or had to copy it, and why */
	json_t *rows = json_object_get(res, "rows"); /* absent when attached: all of LAND's */
	json_t *step = job_step(STEP_RAW, JOB_STATE_DONE, started, rows ? json_integer_value(rows) : land_rows);
	json_object_set(step, "attached", json_object_get(res, "attached"));
	if (json_object_get(res, "copied_because"))
		json_object_set(step, "copied_because", json_object_get(res, "copied_because"));
	json_array_append_new(steps, step);
	json_decref(res);
	return 0;
}
