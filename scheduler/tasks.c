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

static int monitoring_checks(PGconn *lake, const char *at, json_t **report, char *err, size_t errlen)
{
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
