/* The table of built-in tasks. To implement one, set its runner. */
#include "scheduler/tasks.h"

#include <stdio.h>
#include <string.h>

static const struct sched_task tasks[] = {
	{"monitoring_checks", "the monitoring checks (every 10 minutes in the seed)", NULL},
	{"stale_files_check", "alerts on SFTP file sets that received nothing new (daily in the seed)", NULL},
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
