/* TRUSTED built from the stream: while a PostgreSQL snapshot lands, the
 * same binary rows fill a typed table beside it, land."stage-s<source>-j<job>",
 * on a lake connection of their own, committed while the load's transaction
 * commits (layers.trusted_stage_create, layers.trusted_stage_done). The TRUSTED merge takes that
 * table for the new TRUSTED (key index, swap) instead of typing RAW's rows
 * again, when it is the copy of the very LAND partition RAW now holds and
 * the source's columns are still those it was made with
 * (layers.trusted_stage); otherwise it drops it and types RAW as before. So
 * the stage never decides anything: losing it (a crash, a failed commit, a
 * value the live table refuses) only costs the time it saved. */
#ifndef LAKE_TRUSTED_STAGE_H
#define LAKE_TRUSTED_STAGE_H

#include "jobs/job.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct trusted_stage;

/* Opens the connection, makes the table (the source's declared columns,
 * typed) and starts its binary COPY. `land_table` is the job's LAND
 * partition, made in the worker's open transaction. NULL when any of it
 * fails: the load goes on without a stage. */
struct trusted_stage *trusted_stage_begin(struct worker_slot *w, json_t *source, long long job_id,
					  const char *land_table);

/* Passes on binary COPY bytes as the source sent them (header, rows,
 * trailer). A failure is kept for trusted_stage_end. */
void trusted_stage_put(struct trusted_stage *s, const char *bytes, size_t n);

/* Ends the COPY and, with `keep` and as many rows as LAND got, builds the
 * table's key index and commits it; otherwise rolls it back. With `keep`
 * that runs on a thread of its own, so the load's RAW step and commit go
 * on meanwhile (the two commits each fsync a table of the size of the load,
 * the key index keeps a core busy). With `keep`, returns `s` for
 * trusted_stage_finish; otherwise frees it and returns NULL. */
struct trusted_stage *trusted_stage_end(struct trusted_stage *s, bool keep, long long land_rows);

/* Waits for trusted_stage_end's work, closes the connection and frees `s`
 * (NULL is fine). Returns whether the table was kept. */
bool trusted_stage_finish(struct trusted_stage *s);

#endif
