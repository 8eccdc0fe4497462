/* The layer steps of a job after its extract and LAND (land.h): RAW (in the
 * load's transaction), TRUSTED (merge + checks) and the REFINED reports that
 * read the table. Their SQL lives in sql/functions (the layers.* functions),
 * sql/layers/ (per-table overrides) and sql/refined/ (one report per file).
 * `table` is always the lake's name of the source's tables. */
#ifndef LAKE_LAYERS_H
#define LAKE_LAYERS_H

#include "jobs/job.h"
#include "lib/db.h"

/* Hands the job's LAND partition (land_rows rows) to RAW in the caller's
 * open transaction and records a "raw" step (raw.c). */
int layers_raw(struct worker_slot *w, long long job_id, long long source_id, const char *table, long long land_rows,
	       json_t *steps, struct load_error *err) MUSTCHECK;

/* Merges RAW into TRUSTED and runs the source's checks, in one transaction:
 * a failed check rolls it back, so readers keep the previous good table.
 * Appends steps "trusted" and "checks"; *quarantined gets the rows sent to
 * quarantine (trusted.c). */
int layers_trusted(struct worker_slot *w, long long job_id, long long source_id, const char *table,
		   json_t *steps, long long *quarantined, struct load_error *err) MUSTCHECK;

/* Rebuilds the reports in sql/refined/ that read a table this job (or, for
 * the last job of a pipeline run, the run) changed, each in its own
 * transaction (built aside, then swapped). Appends a "refined" step
 * (refined.c). */
int layers_refined(struct worker_slot *w, long long job_id, json_t *steps, struct load_error *err) MUSTCHECK;

/* The reports of sql/refined/ under `home` with the tables each reads:
 * [{"name", "depends": ["trusted.t", ...]}] (new reference), NULL when the
 * folder cannot be read (refined.c; for GET /v1/lineage). */
json_t *layers_refined_reports(const char *home);

/* What the steps share (shared.c): the text of sql/layers/<table>.<step>.sql
 * when that override exists (malloc'd), else NULL. */
char *layers_override(struct worker_slot *w, const char *table, const char *step);

/* Records in control.table_refresh that a table changed. Runs in the
 * caller's transaction; 0 or -1 (err). */
int layers_mark_refreshed(PGconn *lake, const char *layer, const char *table, char *err, size_t errlen) MUSTCHECK;

#endif
