/* The seam between the runner and the source kinds. An extractor reads its
 * source from the stored offset and streams the rows into LAND through the
 * runner's open lake transaction; it never commits. */
#ifndef LAKE_EXTRACT_H
#define LAKE_EXTRACT_H

#include "jobs/worker.h"

#include <jansson.h>

struct load_result {
	char *offset_after;        /* malloc'd; NULL = none (a full source) */
	long long rows_read;
	long long rows_written;
	long long rows_estimate;   /* -1 = unknown */
	bool snapshot;             /* a full snapshot (not a set of changes) */
	double wait_seconds;       /* time spent waiting on the source's network (API loads) */
	long long rows_rejected;   /* rows that did not fit, kept in LAND's _rejects table (sftp loads) */
};

struct load_error {
	enum job_outcome outcome;
	char message[1024];
};

/* Returns 0, or -1 with err filled. `land_table` is the quoted LAND table. */
typedef int (*extract_fn)(struct worker_slot *w, const struct claimed_job *job, json_t *source,
			  const char *land_table, struct load_result *res, struct load_error *err);

int extract_pg(struct worker_slot *w, const struct claimed_job *job, json_t *source,
	       const char *land_table, struct load_result *res, struct load_error *err);

int extract_api(struct worker_slot *w, const struct claimed_job *job, json_t *source,
		const char *land_table, struct load_result *res, struct load_error *err);

int extract_sftp(struct worker_slot *w, const struct claimed_job *job, json_t *source,
		 const char *land_table, struct load_result *res, struct load_error *err);

/* Creates this load's bucket directory, <bucket>/<system>/<object>/dt=<today>,
 * and writes its path into dir (bucket.c). */
int extract_bucket_dir(struct worker_slot *w, json_t *source, char *dir, size_t len, struct load_error *err);

/* Formats err (printf-style) with an outcome; returns -1 for `return load_fail(...)`. */
int load_fail(struct load_error *err, enum job_outcome outcome, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
