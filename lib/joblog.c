/* The queue of job log lines (see joblog.h): a growable array under one
 * mutex, swapped out whole by the writer. */
#include "lib/joblog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct joblog_line *queue;
static size_t count, capacity, dropped_since;

void joblog_push(long long job_id, const char *text)
{
	char *copy = strdup(text);
	pthread_mutex_lock(&lock);
	if (!copy || count >= JOBLOG_MAX) {
		dropped_since++;
		pthread_mutex_unlock(&lock);
		free(copy);
		return;
	}
	if (count == capacity) {
		size_t want = capacity ? capacity * 2 : 256;
		struct joblog_line *grown = realloc(queue, want * sizeof *grown);
		if (!grown) {
			dropped_since++;
			pthread_mutex_unlock(&lock);
			free(copy);
			return;
		}
		queue = grown;
		capacity = want;
	}
	queue[count++] = (struct joblog_line){job_id, copy};
	pthread_mutex_unlock(&lock);
}

size_t joblog_take(struct joblog_line **lines, size_t *dropped)
{
	pthread_mutex_lock(&lock);
	*lines = queue;
	size_t n = count;
	*dropped = dropped_since;
	queue = NULL;
	count = capacity = dropped_since = 0;
	pthread_mutex_unlock(&lock);
	return n;
}
