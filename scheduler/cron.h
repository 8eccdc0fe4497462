/* Cron expressions: five fields (minute hour day-of-month month
 * day-of-week) with lists, ranges, steps, names (JAN-DEC, SUN-SAT) and the
 * macros @hourly @daily @weekly @monthly @yearly. The parser turns one into
 * the sets it means; PostgreSQL computes the fire instants from them in the
 * schedule's time zone (control.schedule_fires). Pure functions: unit-tested. */
#ifndef LAKE_CRON_H
#define LAKE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cron_spec {
	uint64_t minutes;  /* bit m: minute m, 0-59 */
	uint64_t hours;    /* 0-23 */
	uint64_t doms;     /* 1-31 */
	uint64_t months;   /* 1-12 */
	uint64_t dows;     /* 0-6, Sunday = 0 (7 is read as Sunday) */
	bool dom_any;      /* the day-of-month field starts with '*' */
	bool dow_any;      /* the day-of-week field starts with '*' */
	bool fixed;        /* neither minute nor hour starts with '*' (Vixie's DST rule) */
};

/* 0, or -1 with err naming the field and the reason, e.g.
 * "hour field '25': 25 is out of range 0-23". */
int cron_parse(const char *text, struct cron_spec *out, char *err, size_t errlen);

/* The members of `bits` within [lo, hi] as a PostgreSQL array literal,
 * e.g. "{0,15,30,45}". */
void cron_set_text(uint64_t bits, int lo, int hi, char *buf, size_t len);

#endif
