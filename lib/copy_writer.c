/* A COPY written by a thread of its own (see copy_writer.h). */
#include "lib/copy_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define COPY_WRITER_BUFFER (256 * 1024)
#define COPY_WRITER_QUEUED 4

struct buffer {
	char *data;
	size_t used;
	struct buffer *next;
};

struct copy_writer {
	PGconn *conn;
	struct buffer *filling;     /* the caller's */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct buffer *head, *tail; /* full buffers, oldest first */
	int queued;
	bool closing;               /* nothing more will come */
	bool failed;                /* a write failed, or the caller dropped the rest */
};

static struct buffer *buffer_new(void)
{
	struct buffer *b = calloc(1, sizeof *b);
	if (b && !(b->data = malloc(COPY_WRITER_BUFFER))) {
		free(b);
		b = NULL;
	}
	return b;
}

static void buffer_free(struct buffer *b)
{
	if (b)
		free(b->data);
	free(b);
}

static void *writer_main(void *arg)
{
	struct copy_writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->closing)
			pthread_cond_wait(&w->changed, &w->lock);
		struct buffer *b = w->head;
		if (!b)
			break;
		w->head = b->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		bool skip = w->failed;
		pthread_cond_broadcast(&w->changed);
		pthread_mutex_unlock(&w->lock);
		bool ok = skip || PQputCopyData(w->conn, b->data, (int)b->used) == 1;
		buffer_free(b);
		pthread_mutex_lock(&w->lock);
		if (!ok)
			w->failed = true;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct copy_writer *copy_writer_start(PGconn *conn)
{
	struct copy_writer *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->conn = conn;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->changed);
		free(w);
		return NULL;
	}
	return w;
}

/* Queues the filling buffer, waiting while COPY_WRITER_QUEUED are. */
static bool hand_over(struct copy_writer *w)
{
	struct buffer *b = w->filling;
	w->filling = NULL;
	pthread_mutex_lock(&w->lock);
	while (w->queued >= COPY_WRITER_QUEUED && !w->failed)
		pthread_cond_wait(&w->changed, &w->lock);
	bool ok = !w->failed;
	if (ok && b) {
		if (w->tail)
			w->tail->next = b;
		else
			w->head = b;
		w->tail = b;
		w->queued++;
		pthread_cond_broadcast(&w->changed);
	} else {
		buffer_free(b);
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

bool copy_writer_put(struct copy_writer *w, const char *bytes, size_t n)
{
	while (n > 0) {
		if (!w->filling && !(w->filling = buffer_new())) {
			pthread_mutex_lock(&w->lock);
			w->failed = true;
			pthread_mutex_unlock(&w->lock);
			return false;
		}
		size_t room = COPY_WRITER_BUFFER - w->filling->used, take = room < n ? room : n;
		memcpy(w->filling->data + w->filling->used, bytes, take);
		w->filling->used += take;
		bytes += take;
		n -= take;
		if (w->filling->used == COPY_WRITER_BUFFER && !hand_over(w))
			return false;
	}
	pthread_mutex_lock(&w->lock);
	bool ok = !w->failed;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

bool copy_writer_finish(struct copy_writer *w, bool drop)
{
	if (!w)
		return false;
	if (!drop && w->filling)
		hand_over(w);
	buffer_free(w->filling);
	pthread_mutex_lock(&w->lock);
	bool failed_before = w->failed;
	if (drop)
		w->failed = true; /* the thread drops what is queued */
	w->closing = true;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	bool ok = !(drop ? failed_before : w->failed);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->changed);
	free(w);
	return ok;
}
