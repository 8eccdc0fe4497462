/* The real clock, or the test clock's file (see clock.h). */
#include "scheduler/clock.h"
#include "lib/util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sched_clock_now(const char *test_clock_file, char *buf, size_t len)
{
	if (test_clock_file) {
		char *text = util_read_file(test_clock_file, NULL);
		if (text) {
			char *s = text, *end;
			while (isspace((unsigned char)*s))
				s++;
			end = s + strlen(s);
			while (end > s && isspace((unsigned char)end[-1]))
				*--end = 0;
			bool ok = *s && strlen(s) < len;
			for (char *p = s; ok && *p; p++)
				ok = isalnum((unsigned char)*p) || strchr(":-+.TZ ", *p);
			if (ok)
				snprintf(buf, len, "%s", s);
			free(text);
			if (ok)
				return;
		}
	}
	util_now_iso(buf, len);
}
