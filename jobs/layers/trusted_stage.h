/* TRUSTED built from the stream: while a load lands, the same rows fill a
 * typed table beside it, land."stage-s<source>-j<job>", on a lake connection
 * of their own, committed while the load's transaction commits
 * (layers.trusted_stage_create, layers.trusted_stage_done). The TRUSTED merge
 * takes that table for the new TRUSTED (key index, swap) instead of typing
 * RAW's rows again, when it is the copy of the very LAND partition RAW now
 * holds and the source's columns are still those it was made with
 * (layers.trusted_stage); otherwise it drops it and types RAW as before. So
 * the stage never decides anything: losing it (a crash, a failed commit, a
 * value the live table refuses) only costs the time it saved.
 *
 * Two forms: a PostgreSQL snapshot's binary rows, as the source sent them;
 * and an API load's changes into an empty TRUSTED, as COPY text rows of the
 * declared columns and the version, with each child array's elements in a
 * table of their own ("-c<n>"), each on its own connection too. */
#ifndef LAKE_TRUSTED_STAGE_H
#define LAKE_TRUSTED_STAGE_H

#include "jobs/job.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* the child arrays an API stage takes; a source with more has none */
#define TRUSTED_STAGE_CHILDREN 8

struct trusted_stage;

/* Opens the connection, makes the table (the source's declared columns,
 * typed) and starts its binary COPY. `land_table` is the job's LAND
 * partition, made in the worker's open transaction. NULL when any of it
 * fails: the load goes on without a stage. */
struct trusted_stage *trusted_stage_begin(struct worker_slot *w, json_t *source, long long job_id,
					  const char *land_table);

/* The same for an API load's changes: text COPYs of rows "<columns>\t<version>"
 * (trusted_stage_put) and, per child n of options.children,
 * "<key columns>\t<position>\t<element as JSON>\t<version>"
 * (trusted_stage_put_child). NULL when TRUSTED is not empty (the stage
 * would not be taken), the source has more than TRUSTED_STAGE_CHILDREN
 * children, or any of it fails. */
struct trusted_stage *trusted_stage_begin_changes(struct worker_slot *w, json_t *source, long long job_id,
						  const char *land_table);

/* Passes on COPY bytes of the main table (binary: header, rows, trailer as
 * the source sent them). A failure is kept for trusted_stage_end. */
void trusted_stage_put(struct trusted_stage *s, const char *bytes, size_t n);

/* Passes on `rows` whole COPY text rows of child `child` (0-based). */
void trusted_stage_put_child(struct trusted_stage *s, int child, const char *bytes, size_t n, long long rows);

/* Gives a stage of changes the rows whose key may have landed before
 * (lib/key_filter.h), as a JSON array of [key values as LAND has them...,
 * version] (malloc'd; the stage frees it): each table keeps the newest
 * version of those keys only. NULL (the list did not fit): the stage is not
 * kept. */
void trusted_stage_twice(struct trusted_stage *s, char *list);

/* Ends the COPYs and, with `keep` and as many rows as LAND got (and each
 * child table as many as it was sent), builds the keys and commits
 * (children first: the main table's end reads them); otherwise rolls them
 * back. With `keep` that runs on a thread of its own, so the load's RAW step
 * and commit go on meanwhile (the commits each fsync a table of the size of
 * the load, the key index keeps a core busy). With `keep`, returns `s` for
 * trusted_stage_finish; otherwise frees it and returns NULL. */
struct trusted_stage *trusted_stage_end(struct trusted_stage *s, bool keep, long long land_rows);

/* Waits for trusted_stage_end's work, closes the connections and frees `s`
 * (NULL is fine). Returns whether the tables were kept. */
bool trusted_stage_finish(struct trusted_stage *s);

#endif
