/* A COPY FROM STDIN written by a thread of its own. The thread that reads
 * the source hands over full buffers and goes on reading; this one sends
 * them. With one thread both reading and writing two COPYs, every write
 * that waited for a backend stalled the source and the other backend too.
 * At most COPY_WRITER_QUEUED buffers wait: the memory bound and the back
 * pressure. The connection belongs to the writer between copy_writer_start
 * and copy_writer_finish; the COPY itself is begun and ended by the caller. */
#ifndef LAKE_COPY_WRITER_H
#define LAKE_COPY_WRITER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct copy_writer;

/* Starts the thread for `conn`, which is in the COPY IN state. NULL when
 * it cannot (out of memory, no thread). */
struct copy_writer *copy_writer_start(PGconn *conn);
/* Queues bytes (copied); false once a write failed (the rest is dropped). */
bool copy_writer_put(struct copy_writer *w, const char *bytes, size_t n);
/* Sends what is queued (unless `drop`), stops the thread and frees `w`.
 * Returns false when a write failed; PQerrorMessage(conn) says why. */
bool copy_writer_finish(struct copy_writer *w, bool drop);

#endif
