/* The layer steps of a job after its load: TRUSTED (merge + checks) and the
 * REFINED reports that read the table. SQL lives in sql/migrations (the
 * layers.* functions) and sql/refined/ (one report per file). */
#ifndef LAKE_LAYERS_H
#define LAKE_LAYERS_H

#include "jobs/extract.h"
#include "lib/db.h"

/* Merges RAW into TRUSTED and runs the source's checks, in one transaction:
 * a failed check rolls it back, so readers keep the previous good table.
 * Appends steps "trusted" and "checks"; *quarantined gets the rows sent to
 * quarantine. `table` is <system>_<object>. */
int layers_trusted(struct worker_slot *w, long long job_id, long long source_id, const char *table,
		   json_t *steps, long long *quarantined, struct load_error *err);

/* Rebuilds the reports in sql/refined/ that read a table this job (or, for
 * the last job of a pipeline run, the run) changed, each in its own
 * transaction (built aside, then swapped). Appends a "refined" step. */
int layers_refined(struct worker_slot *w, long long job_id, json_t *steps, struct load_error *err);

/* The text of sql/layers/<table>.<step>.sql when that override exists
 * (malloc'd), else NULL. */
char *layers_override(struct worker_slot *w, const char *table, const char *step);

/* Records in control.table_refresh that a table changed. Runs in the
 * caller's transaction; 0 or -1 (err). */
int layers_mark_refreshed(PGconn *lake, const char *layer, const char *table, char *err, size_t errlen) MUSTCHECK;

#endif
