/* The rules of a schedule definition, in the order a user reads one: the
 * target (exactly one of pipeline, source_id + load_type, task), the cron and
 * its zone, then the policies (catch-up, overlap, deadline, retries). */
#include "control/jobs_store.h"
#include "control/schedule_validate.h"
#include "scheduler/tasks.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 200
#define DURATION_MAX (366LL * 86400)

static const char *const known_fields[] = {
	"name", "pipeline", "source_id", "load_type", "task", "cron", "timezone", "active", "catchup",
	"catchup_limit", "max_active_runs", "deadline", "retries", "retry_delay", NULL};
const char *const schedule_computed_fields[] = {"id", "created_at", "updated_at", "next_fires",
						"target_problem", "waiting_since", NULL};

static int fail(struct validation_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct validation_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;
	snprintf(err->field, sizeof err->field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

static bool present(json_t *def, const char *field)
{
	json_t *v = json_object_get(def, field);
	return v && !json_is_null(v);
}

static int opt_string(json_t *def, const char *field, const char **out, struct validation_error *err)
{
	json_t *v = json_object_get(def, field);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !json_string_length(v))
		return fail(err, field, "must be a non-empty string");
	*out = json_string_value(v);
	return 0;
}

/* An integer field within [lo, hi], set to `def_value` when absent. */
static int int_field(json_t *def, const char *field, long long lo, long long hi, long long def_value,
		     struct validation_error *err)
{
	json_t *v = json_object_get(def, field);
	if (!v || json_is_null(v))
		return json_object_set_new(def, field, json_integer(def_value)) ? fail(err, field, "out of memory") : 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail(err, field, "must be an integer from %lld to %lld", lo, hi);
	return 0;
}

static int check_fields_known(json_t *def, struct validation_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(def, key, v) {
		for (int i = 0; schedule_computed_fields[i]; i++)
			if (strcmp(key, schedule_computed_fields[i]) == 0)
				return fail(err, key, "is computed by the server, not set");
		bool known = false;
		for (int i = 0; known_fields[i] && !known; i++)
			known = strcmp(key, known_fields[i]) == 0;
		if (!known)
			return fail(err, key, "is not a field of a schedule");
	}
	return 0;
}

static int check_target(json_t *def, struct validation_error *err)
{
	int targets = present(def, "pipeline") + present(def, "source_id") + present(def, "task");
	if (targets != 1)
		return fail(err, "pipeline",
			    "a schedule fires exactly one target: pipeline, source_id (with load_type) or task");
	const char *s;
	if (opt_string(def, "pipeline", &s, err))
		return -1;
	if (s) {
		char system[128];
		const char *type, *load;
		if (!pipeline_name_parse(s, system, sizeof system, &type, &load))
			return fail(err, "pipeline", "must be named <system>_<source_type>_<load_type>, e.g. marketplace_postgresql_incremental");
		if (present(def, "load_type"))
			return fail(err, "load_type", "is only for a source_id target (a pipeline's name holds it)");
		return 0;
	}
	if (opt_string(def, "task", &s, err))
		return -1;
	if (s) {
		if (!sched_task_find(s)) {
			char names[256];
			sched_task_names(names, sizeof names);
			return fail(err, "task", "must be one of: %s", names);
		}
		if (present(def, "load_type"))
			return fail(err, "load_type", "is only for a source_id target");
		return 0;
	}
	json_t *id = json_object_get(def, "source_id");
	if (!json_is_integer(id) || json_integer_value(id) < 1)
		return fail(err, "source_id", "must be a positive integer (a source's id)");
	if (opt_string(def, "load_type", &s, err))
		return -1;
	if (!s)
		return fail(err, "load_type", "is required with source_id (full or incremental)");
	if (strcmp(s, "full") && strcmp(s, "incremental"))
		return fail(err, "load_type", "must be one of: full, incremental");
	return 0;
}

static int check_cron(json_t *def, struct schedule_parsed *out, struct validation_error *err)
{
	const char *cron, *tz;
	char why[200];
	if (opt_string(def, "cron", &cron, err))
		return -1;
	if (!cron)
		return fail(err, "cron", "is required (five fields: minute hour day-of-month month day-of-week)");
	if (cron_parse(cron, &out->cron, why, sizeof why) != 0)
		return fail(err, "cron", "is not valid: %s", why);
	if (opt_string(def, "timezone", &tz, err))
		return -1;
	if (!tz)
		return json_object_set_new(def, "timezone", json_string("UTC"));
	for (const char *p = tz; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return fail(err, "timezone", "must be an IANA time zone name, e.g. America/Sao_Paulo");
	return strlen(tz) > 64 ? fail(err, "timezone", "must be an IANA time zone name, e.g. America/Sao_Paulo") : 0;
}

static int duration_field(json_t *def, const char *field, const char *def_value, long long *secs,
			  struct validation_error *err)
{
	const char *s;
	if (opt_string(def, field, &s, err))
		return -1;
	if (!s && !def_value) {
		*secs = -1;
		return json_object_set_new(def, field, json_null());
	}
	if (!s) {
		json_object_set_new(def, field, json_string(def_value));
		s = def_value;
	}
	*secs = schedule_duration_parse(s);
	if (*secs < 0 || (!def_value && *secs == 0))
		return fail(err, field, "must be an ISO 8601 duration%s of at most a year, e.g. PT45M, PT2H, P1D",
			    def_value ? "" : " above zero");
	return 0;
}

int schedule_validate(json_t *def, struct schedule_parsed *out, struct validation_error *err)
{
	const char *s;
	memset(err, 0, sizeof *err);
	memset(out, 0, sizeof *out);
	if (!json_is_object(def))
		return fail(err, "body", "must be a JSON object");
	if (check_fields_known(def, err) || opt_string(def, "name", &s, err))
		return -1;
	if (s && strlen(s) > NAME_MAX_LEN)
		return fail(err, "name", "must be at most %d bytes", NAME_MAX_LEN);
	if (check_target(def, err) || check_cron(def, out, err))
		return -1;

	json_t *active = json_object_get(def, "active");
	if (!active || json_is_null(active))
		json_object_set_new(def, "active", json_true());
	else if (!json_is_boolean(active))
		return fail(err, "active", "must be true or false");
	if (opt_string(def, "catchup", &s, err))
		return -1;
	if (!s)
		json_object_set_new(def, "catchup", json_string("none"));
	else if (strcmp(s, "none") && strcmp(s, "all"))
		return fail(err, "catchup", "must be one of: none, all");
	if (int_field(def, "catchup_limit", 1, 1000, 10, err) ||
	    int_field(def, "max_active_runs", 1, 64, 1, err) || int_field(def, "retries", 0, 10, 0, err) ||
	    duration_field(def, "deadline", NULL, &out->deadline_secs, err) ||
	    duration_field(def, "retry_delay", "PT5M", &out->retry_delay_secs, err))
		return -1;
	return 0;
}

/* Reads digits then one of `units` at *p; the unit's factor multiplies. */
long long schedule_duration_parse(const char *s)
{
	static const struct { char unit; long long secs; bool time; } parts[] = {
		{'W', 7 * 86400, false}, {'D', 86400, false}, {'H', 3600, true}, {'M', 60, true}, {'S', 1, true}};
	if (!s || *s++ != 'P' || !*s)
		return -1;
	long long total = 0;
	bool in_time = false, any = false;
	size_t next = 0; /* units must come in order */
	while (*s) {
		if (*s == 'T' && !in_time) {
			in_time = true;
			s++;
			if (!*s)
				return -1;
			continue;
		}
		if (!isdigit((unsigned char)*s))
			return -1;
		long long v = 0;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s++ - '0');
			if (v > DURATION_MAX)
				return -1;
		}
		size_t i = next;
		while (i < sizeof parts / sizeof parts[0] && (parts[i].unit != *s || parts[i].time != in_time))
			i++;
		if (i == sizeof parts / sizeof parts[0])
			return -1;
		total += v * parts[i].secs;
		if (total > DURATION_MAX)
			return -1;
		next = i + 1;
		any = true;
		s++;
	}
	return any ? total : -1;
}
