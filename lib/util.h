/* Small helpers that several modules need: the time as ISO 8601, a whole
 * file read into memory, mkdir -p, UTF-8 checks, a thread's timed pause. */
#ifndef LAKE_UTIL_H
#define LAKE_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Now, UTC, with milliseconds: 2026-11-24T09:15:02.123Z */
void util_now_iso(char *buf, size_t len);
/* The whole file, NUL-terminated, malloc'd (*len may be NULL); NULL if it
 * cannot be read. For small files: SQL, the spec, secrets. */
char *util_read_file(const char *path, size_t *len);
/* Creates the directory and its parents (mode 0750); 0 or -1 with errno. */
int util_make_dirs(const char *path);

/* true when `s` is valid UTF-8 (jansson's judgement: no overlongs, no
 * surrogates). Text from clients must be before it reaches SQL. */
bool util_utf8_valid(const char *s);
/* Replaces, in place, every byte that is not part of a valid UTF-8
 * character with '?' (text cut mid-character, bytes from a foreign source). */
void util_utf8_repair(char *s);

/* `ms` from now on CLOCK_REALTIME: the deadline pthread_cond_timedwait takes. */
void util_deadline_ms(struct timespec *t, int ms);
/* A background thread's pause: waits on `wake` for up to `ms`, unless
 * `stopping` is already set, so a stop (set, then broadcast) ends it at once. */
void util_pause(pthread_mutex_t *lock, pthread_cond_t *wake, const atomic_bool *stopping, int ms);

#endif
