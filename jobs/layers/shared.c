/* What the layer steps share: per-table override files and the record of
 * which tables changed (control.table_refresh). */
#include "jobs/layers/layers.h"
#include "lib/util.h"

#include <stdio.h>

char *layers_override(struct worker_slot *w, const char *table, const char *step)
{
	char path[4400];
	snprintf(path, sizeof path, "%s/sql/layers/%s.%s.sql", w->app->cfg.home, table, step);
	return util_read_file(path, NULL);
}

int layers_mark_refreshed(PGconn *lake, const char *layer, const char *table, char *err, size_t errlen)
{
	const char *params[2] = {layer, table};
	return db_exec_params(lake, "INSERT INTO control.table_refresh (layer, table_name, refreshed_at) "
				    "VALUES ($1, $2, now()) ON CONFLICT (layer, table_name) DO UPDATE SET refreshed_at = now()",
			      2, params, err, errlen);
}
