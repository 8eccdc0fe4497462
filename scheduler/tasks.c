/* The table of built-in tasks, and their runners. To implement one, set its
 * runner.
 *
 * monitoring_checks runs every check (control.monitoring_checks, scope
 * "all": freshness of every source, failed and cancelled loads, missed
 * schedule deadlines); stale_files_check runs only the freshness of sftp
 * sources (the seed's daily "file not updated" function). Both raise and
 * resolve alerts in control.alerts inside the fire's transaction, at the
 * fire's instant; delivering them is monitor/deliver.c's work. retention
 * runs layers.retention (sql/functions/). */
#include "scheduler/tasks.h"
#include "control/alerts_store.h"
#include "jobs/sources/kind.h"
#include "lib/db.h"

#include <stdio.h>
#include <string.h>

static int run_checks(PGconn *lake, const char *scope, const char *at, json_t **report, char *err, size_t errlen)
{
	struct store_error e;
	json_t *out = NULL;
	enum store_result r = alerts_run_checks(lake, at, scope, &out, &e);
	if (r != STORE_OK) {
		snprintf(err, errlen, "the checks failed: %s",
			 e.res ? PQresultErrorField(e.res, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(e.res, PG_DIAG_MESSAGE_PRIMARY)
								       : "lake error"
			       : PQerrorMessage(lake));
		PQclear(e.res);
		return -1;
	}
	*report = out;
	return 0;
}

/* Measures the Change Tracking headroom of every active, change-tracked,
 * incremental source whose kind can tell, into control.ct_headroom, for the
 * checks to read. Each source on its own short connection; a source that
 * cannot be measured keeps the reason (in our words) instead of figures. */
static int measure_ct_headroom(PGconn *lake, const char *at, char *err, size_t errlen)
{
	PGresult *r = PQexec(lake, "SELECT s.id::text, control.source_json(s)::text FROM control.sources s "
				   "WHERE s.active AND s.load_type = 'incremental' AND s.offset_mode = 'change_tracking' "
				   "AND s.last_offset IS NOT NULL ORDER BY s.id");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "the change tracking sources: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	int rc = 0;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		json_t *src = json_loads(PQgetvalue(r, i, 1), 0, NULL);
		const struct source_kind *kind = source_kind_find(json_string_value(json_object_get(src, "source_type")));
		if (kind && kind->ct_headroom) {
			struct ct_headroom h;
			char why[512] = "", ret[24], minv[24], offv[24];
			bool ok = kind->ct_headroom(src, &h, why, sizeof why) == 0;
			snprintf(ret, sizeof ret, "%lld", h.retention_seconds);
			snprintf(minv, sizeof minv, "%lld", h.min_valid_version);
			snprintf(offv, sizeof offv, "%lld", h.offset_version);
			const char *p[7] = {PQgetvalue(r, i, 0), ok ? ret : NULL, ok ? minv : NULL, ok ? offv : NULL,
					    ok ? (h.offset_lost ? "t" : "f") : NULL, at, ok ? NULL : why};
			rc = db_exec_params(lake,
				"INSERT INTO control.ct_headroom AS c (source_id, retention_seconds, min_valid_version, "
				"offset_version, offset_lost, measured_at, error) VALUES ($1, $2, $3, $4, $5, $6, $7) "
				"ON CONFLICT (source_id) DO UPDATE SET retention_seconds = excluded.retention_seconds, "
				"min_valid_version = excluded.min_valid_version, offset_version = excluded.offset_version, "
				"offset_lost = excluded.offset_lost, measured_at = excluded.measured_at, error = excluded.error",
				7, p, err, errlen);
		}
		json_decref(src);
	}
	PQclear(r);
	return rc;
}

static int monitoring_checks(PGconn *lake, const char *at, json_t **report, char *err, size_t errlen)
{
	if (measure_ct_headroom(lake, at, err, errlen) != 0)
		return -1;
	return run_checks(lake, "all", at, report, err, errlen);
}

static int stale_files_check(PGconn *lake, const char *at, json_t **report, char *err, size_t errlen)
{
	return run_checks(lake, "sftp_files", at, report, err, errlen);
}

/* SHOPPERLAKE_JOB_HISTORY_DAYS, set once before the scheduler starts. */
static int job_history_days = 90;

void sched_tasks_configure(int history_days)
{
	job_history_days = history_days;
}

/* layers.retention: old LAND and RAW partitions that TRUSTED merged, old
 * job history. Partitions it cannot lock within 2 s wait for the next run. */
static int retention(PGconn *lake, const char *at, json_t **report, char *err, size_t errlen)
{
	char days[16];
	snprintf(days, sizeof days, "%d", job_history_days);
	const char *p[2] = {at, days};
	struct store_error e;
	enum store_result r = store_one_json(lake, "SELECT layers.retention($1::timestamptz, $2::integer)", 2, p,
					     report, &e);
	if (r != STORE_OK) {
		const char *m = e.res ? PQresultErrorField(e.res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		snprintf(err, errlen, "retention failed: %s", m ? m : "lake error");
		PQclear(e.res);
		return -1;
	}
	return 0;
}

static const struct sched_task tasks[] = {
	{"monitoring_checks", "the monitoring checks (every 10 minutes in the seed)", monitoring_checks},
	{"stale_files_check", "alerts on SFTP file sets that received nothing new (daily in the seed)", stale_files_check},
	{"retention", "drops old LAND and RAW partitions that TRUSTED merged, and old job history", retention},
};

const struct sched_task *sched_task_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof tasks / sizeof tasks[0]; i++)
		if (strcmp(tasks[i].name, name) == 0)
			return &tasks[i];
	return NULL;
}

void sched_task_names(char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof tasks / sizeof tasks[0] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", tasks[i].name);
}
