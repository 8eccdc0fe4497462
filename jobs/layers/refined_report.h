/* One REFINED report: its file read, and the report brought up to date on a
 * lake connection, refreshed or rebuilt (refined_report.c). The refined step
 * (refined.c) decides which reports, in what order, on which connections. */
#ifndef LAKE_REFINED_REPORT_H
#define LAKE_REFINED_REPORT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct report {
	char name[64];
	char depends[1024];   /* "trusted.a, trusted.b" */
	char key[512];        /* "a, b" or "" */
	char refresh_by[512]; /* "dia, produto_id" or "": always rebuilt */
	char refresh_with[128]; /* "layers.f": a function of its own refreshes it, or "" */
	char *sql;            /* the whole file */
};

/* What bringing a report up to date did: rebuilt, or refreshed
 * ({groups, deleted, inserted}); why a rebuild; its seconds. The json
 * fields are new references, NULL when not set. */
struct report_outcome {
	bool rebuilt;
	json_t *refreshed;
	json_t *why;
	double seconds;
};

/* Reads the report file `file` of `dir` into rep (name, text and headers);
 * false for a file that is not a report (another suffix, a bad name) or
 * cannot be read. The caller frees rep->sql. */
bool report_read(const char *dir, const char *file, struct report *rep);

/* true when the comma list `depends` holds `table` ("trusted.t") exactly. */
bool report_reads(const char *depends, const char *table);

/* Every table the report reads exists (of `schema`, "trusted.", or of any
 * when NULL)? Otherwise `missing` names one. */
bool report_dependencies_ready(PGconn *lake, const struct report *rep, const char *schema, char *missing, size_t len);

/* Makes the indexes the report's "-- index:" lines ask for, each statement
 * committed on its own (outside the report's transaction: two reports
 * brought up to date side by side never wait on each other's index). 0 or
 * -1 (msg). */
int report_indexes(PGconn *lake, const struct report *rep, char *msg, size_t len);

/* Brings one report up to date on `lake`: refreshed when it says how and
 * can be, else rebuilt, in its own transaction. 0 (out filled) or -1 (msg). */
int report_update(PGconn *lake, const struct report *rep, struct report_outcome *out, char *msg, size_t len);

#endif
