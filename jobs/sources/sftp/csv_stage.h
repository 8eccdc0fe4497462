/* A CSV source's first load typed while it lands: the COPY text rows the
 * converter sends to LAND (csv_copy.h) are typed (jobs/sources/copy_typed.h)
 * into the binary COPY of the table built beside LAND
 * (jobs/layers/trusted_stage.h), which the source's first TRUSTED then
 * takes instead of casting RAW's text.
 *
 * Only a load of a source never merged: an empty TRUSTED is built aside
 * from the job's rows as they are, which is what the stage holds. Anything
 * that breaks the one-to-one with LAND's rows or with the cast spoils it: a
 * file's rows rolled back (a retried or a still-changing download), a
 * value not in a plain form of its type, a row that is not an upsert. A
 * spoiled stage is rolled back at the end and TRUSTED types RAW's rows as
 * before; it never fails the load. */
#ifndef LAKE_CSV_STAGE_H
#define LAKE_CSV_STAGE_H

#include "jobs/job.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct csv_stage;

/* A stage for the load's rows (`ncols` declared columns, then the version,
 * operation, file and line that csv_copy writes), or NULL when the source
 * does not get one (it was merged before, it has an override of its
 * TRUSTED step or child tables, a column type has no plain form) or it
 * cannot start. Call before LAND's COPY begins: it asks the lake. */
struct csv_stage *csv_stage_begin(struct worker_slot *w, json_t *source, long long job_id, const char *land_table,
				  size_t ncols);

/* Types whole COPY text rows, as sent to LAND (NULL s is fine). */
void csv_stage_rows(struct csv_stage *s, const char *data, size_t len);

/* Gives the stage up (NULL s is fine); `why` is logged. */
void csv_stage_spoil(struct csv_stage *s, const char *why);

/* Commits the table when `keep`, not spoiled, and it got `land_rows` rows;
 * rolls it back otherwise. Frees `s`. Returns whether it was kept. */
bool csv_stage_end(struct csv_stage *s, bool keep, long long land_rows);

#endif
