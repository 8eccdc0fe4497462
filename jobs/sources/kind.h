/* The source kinds, after curl's per-protocol handler structs: one entry per
 * kind (sqlserver, postgresql, api, sftp) says what a source of that kind
 * may be and how it loads. Every kind-specific decision — validation at
 * POST/PATCH, the default schema and offset mode, the extractor — goes
 * through this table: adding a kind is adding an entry.
 *
 * An extractor reads its source from the stored offset and streams the rows
 * into LAND through the runner's open lake transaction; it never commits. */
#ifndef LAKE_SOURCE_KIND_H
#define LAKE_SOURCE_KIND_H

#include "jobs/job.h"
#include "jobs/queue.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct trusted_stage;

struct load_result {
	char *offset_after;        /* malloc'd; NULL = none (a full source) */
	long long rows_read;
	long long rows_written;
	long long rows_estimate;   /* -1 = unknown */
	bool snapshot;             /* a full snapshot (not a set of changes) */
	double wait_seconds;       /* time spent waiting on the source's network (API loads) */
	long long rows_rejected;   /* rows that did not fit, kept in LAND's _rejects table */
	char notice[256];          /* something the user should know about this load ("" = none) */
	struct trusted_stage *stage; /* a typed copy still committing: trusted_stage_finish */
};

/* Returns 0, or -1 with err filled. `land_table` is the quoted LAND table. */
typedef int (*extract_fn)(struct worker_slot *w, const struct claimed_job *job, json_t *source,
			  const char *land_table, struct load_result *res, struct load_error *err);

/* Checks (and completes with defaults) a definition's kind-specific
 * options; 0, or -1 with the offending field and a message. */
typedef int (*options_fn)(json_t *source, char *field, size_t fieldlen, char *msg, size_t msglen);

/* Discovery: lists the tables of the database a connection secret names,
 * with their columns (the source's type and the default TRUSTED type),
 * primary keys and change tracking, as {database, tables: [...], ...}
 * (openapi/openapi.yaml, Discovery). `schema` NULL = every schema. 0, or
 * -1 with err (permanent: the request is at fault, e.g. a refused login). */
typedef int (*discover_fn)(const char *secret_ref, const char *schema, json_t **out, struct load_error *err);
/* Change Tracking headroom (issue 12): what bounds how long incremental
 * loads can still get the changes since the stored offset. Connects to the
 * source named by the definition `source` (its own connection, not a job's)
 * and reads its change-tracking retention and the table's minimum valid
 * version. The monitoring checks turn it into seconds: the changes after
 * the offset committed after the load that stored it started, so they are
 * kept at least until that start plus the retention (control.ct_headroom,
 * control.monitoring_checks). 0, or -1 with err (no secret in it). */
struct ct_headroom {
	long long retention_seconds;
	long long min_valid_version;
	long long offset_version;
	bool offset_lost;            /* the minimum valid version passed the offset */
};
typedef int (*ct_headroom_fn)(json_t *source, struct ct_headroom *out, char *err, size_t errlen);

/* Offset modes of an incremental load, as a bit set. */
enum {
	OFFSET_CHANGE_TRACKING = 1 << 0,
	OFFSET_WATERMARK = 1 << 1,
	OFFSET_FILES = 1 << 2,
};

struct source_kind {
	const char *name;              /* source_type */
	bool relational;               /* a database table: needs database and a connection secret */
	const char *default_schema;    /* relational kinds; NULL otherwise */
	unsigned offset_modes;         /* the incremental modes it supports */
	unsigned default_offset_mode;  /* of an incremental load */
	bool columns_are_paths;        /* columns[].path picks values from JSON records */
	bool has_children;             /* options.children: arrays as child tables */
	bool needs_secret;             /* connection_secret is required ... */
	const char *secret_option;     /* ... unless this option is given (NULL: no alternative) */
	bool keeps_rejects;            /* rows that do not fit go to LAND's _rejects table */
	options_fn validate_options;   /* NULL: no options of its own */
	extract_fn extract;            /* NULL: loading is not implemented */
	discover_fn discover;          /* NULL: no discovery */
	ct_headroom_fn ct_headroom;    /* NULL: no change-tracking headroom to watch */
};

/* The kind named `name`, or NULL. */
const struct source_kind *source_kind_find(const char *name);
/* The kinds, NULL-terminated, in the order the API lists them. */
extern const struct source_kind *const source_kinds[];

/* One entry per kind, each defined in the kind's own file. */
extern const struct source_kind source_kind_sqlserver;
extern const struct source_kind source_kind_postgresql;
extern const struct source_kind source_kind_api;
extern const struct source_kind source_kind_sftp;

#endif
