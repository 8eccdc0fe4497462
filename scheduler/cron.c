/* The cron parser: text to sets, with a reason naming the field when the
 * text is not a cron. Follows Vixie cron's syntax: `*`, `a`, `a-b`, each
 * with an optional `/step` (`a/step` means a to the field's end), lists with
 * commas, month and weekday names in any case, 7 as Sunday. */
#include "scheduler/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct field_def {
	const char *name;
	int lo, hi;
	const char *const *names; /* names[i] is value lo + i; NULL when none */
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const struct field_def fields[5] = {
	{"minute", 0, 59, NULL},
	{"hour", 0, 23, NULL},
	{"day-of-month", 1, 31, NULL},
	{"month", 1, 12, month_names},
	{"day-of-week", 0, 7, dow_names},
};

static const struct {
	const char *macro, *cron;
} macros[] = {
	{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

/* One number or name at *p; advances *p. -1 with err when there is none. */
static int parse_value(const struct field_def *f, const char **p, int *out, const char *item,
		       char *err, size_t errlen)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long v = 0;
		while (isdigit((unsigned char)*s) && v < 1000)
			v = v * 10 + (*s++ - '0');
		if (v < f->lo || v > f->hi) {
			snprintf(err, errlen, "%s field '%s': %ld is out of range %d-%d", f->name, item, v,
				 f->lo, f->hi);
			return -1;
		}
		*out = (int)v;
		*p = s;
		return 0;
	}
	if (f->names && isalpha((unsigned char)*s)) {
		for (int i = 0; f->names[i]; i++)
			if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
				*out = f->lo + i;
				*p = s + 3;
				return 0;
			}
		snprintf(err, errlen, "%s field '%s': unknown name (use %s-%s)", f->name, item,
			 f->names[0], f == &fields[3] ? "DEC" : "SAT");
		return -1;
	}
	snprintf(err, errlen, "%s field '%s': expected a number%s, '*', a range or a step", f->name,
		 item, f->names ? " or a name" : "");
	return -1;
}

/* One comma-separated item into *bits. */
static int parse_item(const struct field_def *f, const char *item, uint64_t *bits, char *err,
		      size_t errlen)
{
	const char *p = item;
	int lo, hi, step = 1;
	bool star = false;
	if (*p == '*') {
		star = true;
		lo = f->lo;
		hi = f->hi;
		p++;
	} else {
		if (parse_value(f, &p, &lo, item, err, errlen) != 0)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_value(f, &p, &hi, item, err, errlen) != 0)
				return -1;
			if (hi < lo) {
				snprintf(err, errlen, "%s field '%s': the range runs backwards", f->name, item);
				return -1;
			}
		}
	}
	if (*p == '/') {
		p++;
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen, "%s field '%s': a step must be a number", f->name, item);
			return -1;
		}
		long v = 0;
		while (isdigit((unsigned char)*p) && v < 1000)
			v = v * 10 + (*p++ - '0');
		if (v < 1 || v > f->hi - f->lo + 1) {
			snprintf(err, errlen, "%s field '%s': the step must be 1-%d", f->name, item,
				 f->hi - f->lo + 1);
			return -1;
		}
		step = (int)v;
		if (!star && hi == lo)
			hi = f->hi; /* a/step: from a to the end */
	}
	if (*p) {
		snprintf(err, errlen, "%s field '%s': unexpected '%c'", f->name, item, *p);
		return -1;
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= 1ULL << v;
	return 0;
}

static int parse_field(const struct field_def *f, const char *text, uint64_t *bits, char *err,
		       size_t errlen)
{
	char item[64];
	*bits = 0;
	const char *p = text;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || n >= sizeof item) {
			snprintf(err, errlen, "%s field '%s': %s", f->name, text,
				 n == 0 ? "empty list item" : "list item too long");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = 0;
		if (parse_item(f, item, bits, err, errlen) != 0)
			return -1;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int days_in_month(int m) { return m == 2 ? 29 : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31; }

int cron_parse(const char *text, struct cron_spec *out, char *err, size_t errlen)
{
	char buf[256], *parts[6];
	int n = 0;
	memset(out, 0, sizeof *out);
	if (!text || strlen(text) >= sizeof buf) {
		snprintf(err, errlen, "must be a cron of five fields, at most %zu characters", sizeof buf - 1);
		return -1;
	}
	while (isspace((unsigned char)*text))
		text++;
	for (size_t i = 0; text[0] == '@' && i < sizeof macros / sizeof macros[0]; i++) {
		size_t m = strlen(macros[i].macro);
		if (strncasecmp(text, macros[i].macro, m) == 0 && (!text[m] || isspace((unsigned char)text[m]))) {
			const char *rest = text + m;
			while (isspace((unsigned char)*rest))
				rest++;
			if (*rest)
				break;
			text = macros[i].cron;
			break;
		}
	}
	if (text[0] == '@') {
		snprintf(err, errlen, "unknown macro (use @hourly, @daily, @weekly, @monthly or @yearly)");
		return -1;
	}
	strcpy(buf, text);
	for (char *tok = strtok(buf, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
		if (n == 6)
			break;
		parts[n++] = tok;
	}
	if (n != 5) {
		snprintf(err, errlen, "must have five fields (minute hour day-of-month month day-of-week), not %s%d",
			 n > 5 ? "more than " : "", n > 5 ? 5 : n);
		return -1;
	}
	uint64_t *sets[5] = {&out->minutes, &out->hours, &out->doms, &out->months, &out->dows};
	for (int i = 0; i < 5; i++)
		if (parse_field(&fields[i], parts[i], sets[i], err, errlen) != 0)
			return -1;
	if (out->dows & (1ULL << 7))
		out->dows = (out->dows | 1ULL) & ~(1ULL << 7);
	out->dom_any = parts[2][0] == '*';
	out->dow_any = parts[4][0] == '*';
	out->fixed = parts[0][0] != '*' && parts[1][0] != '*';

	/* A day of the month that no selected month has never fires (30 FEB). */
	if (out->dow_any) {
		bool possible = false;
		for (int m = 1; m <= 12 && !possible; m++)
			for (int d = 1; d <= days_in_month(m) && !possible; d++)
				possible = (out->months >> m & 1) && (out->doms >> d & 1);
		if (!possible) {
			snprintf(err, errlen, "day-of-month field '%s': no selected month has such a day", parts[2]);
			return -1;
		}
	}
	return 0;
}

void cron_set_text(uint64_t bits, int lo, int hi, char *buf, size_t len)
{
	size_t used = 0;
	if (len < 3) {
		if (len)
			buf[0] = 0;
		return;
	}
	buf[used++] = '{';
	for (int v = lo; v <= hi; v++) {
		if (!(bits >> v & 1))
			continue;
		int w = snprintf(buf + used, len - used, "%s%d", used > 1 ? "," : "", v);
		if (w < 0 || (size_t)w >= len - used - 1)
			break;
		used += (size_t)w;
	}
	buf[used++] = '}';
	buf[used] = 0;
}
