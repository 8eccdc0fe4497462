/* The scheduler's clock. In production it is the real time. A test points
 * SHOPPERLAKE_TEST_CLOCK at a file holding one ISO 8601 instant and rewrites
 * it to move time: the scheduler and the /v1/schedules answers then read the
 * file instead of the real clock, so DST days, catch-up after a long outage
 * and overlaps are tested without waiting. The server logs a warning at
 * start when it is set. */
#ifndef LAKE_SCHED_CLOCK_H
#define LAKE_SCHED_CLOCK_H

#include <stddef.h>

/* Now as ISO 8601 text (UTC): the file's instant when `test_clock_file` is
 * set and readable, else the real time. */
void sched_clock_now(const char *test_clock_file, char *buf, size_t len);

#endif
