/* The table of built-in tasks, and their runners. To implement one, set its
 * runner.
 *
 * monitoring_checks runs every check (control.monitoring_checks, scope
 * "all": freshness of every source, failed and cancelled loads, missed
 * schedule deadlines); stale_files_check runs only the freshness of sftp
 * sources (the seed's daily "file not updated" function). Both raise and
 * resolve alerts in control.alerts inside the fire's transaction, at the
 * fire's instant; delivering them is monitor/deliver.c's work. */
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

static const struct sched_task tasks[] = {
	{"monitoring_checks", "the monitoring checks (every 10 minutes in the seed)", monitoring_checks},
	{"stale_files_check", "alerts on SFTP file sets that received nothing new (daily in the seed)", stale_files_check},
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
