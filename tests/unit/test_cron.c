/* The cron parser and the schedule definition rules: each valid form means
 * the set it should, each invalid one is refused naming the cron field and
 * the reason; durations read as ISO 8601. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "control/schedule_validate.h"
#include "scheduler/cron.h"

/* The members of a set as text, e.g. "{0,15,30,45}". */
static const char *set(uint64_t bits, int lo, int hi)
{
	static char buf[512];
	cron_set_text(bits, lo, hi, buf, sizeof buf);
	return buf;
}

static struct cron_spec parse_ok(const char *text)
{
	struct cron_spec c;
	char err[200] = "";
	int rc = cron_parse(text, &c, err, sizeof err);
	if (rc != 0)
		fail_msg("'%s' refused: %s", text, err);
	return c;
}

static void parse_bad(const char *text, const char *want_in_reason)
{
	struct cron_spec c;
	char err[200] = "";
	assert_int_equal(cron_parse(text, &c, err, sizeof err), -1);
	if (!strstr(err, want_in_reason))
		fail_msg("'%s': reason '%s' lacks '%s'", text, err, want_in_reason);
}

static void fields_and_forms(void **state)
{
	(void)state;
	struct cron_spec c = parse_ok("*/15 0-23/6 1,15 * *");
	assert_string_equal(set(c.minutes, 0, 59), "{0,15,30,45}");
	assert_string_equal(set(c.hours, 0, 23), "{0,6,12,18}");
	assert_string_equal(set(c.doms, 1, 31), "{1,15}");
	assert_string_equal(set(c.months, 1, 12), "{1,2,3,4,5,6,7,8,9,10,11,12}");
	assert_string_equal(set(c.dows, 0, 6), "{0,1,2,3,4,5,6}");
	assert_false(c.fixed);
	assert_false(c.dom_any);
	assert_true(c.dow_any);

	c = parse_ok("  30   2 * jan-Mar,DEC mon-FRI ");
	assert_string_equal(set(c.minutes, 0, 59), "{30}");
	assert_string_equal(set(c.hours, 0, 23), "{2}");
	assert_string_equal(set(c.months, 1, 12), "{1,2,3,12}");
	assert_string_equal(set(c.dows, 0, 6), "{1,2,3,4,5}");
	assert_true(c.fixed);
	assert_true(c.dom_any);
	assert_false(c.dow_any);

	c = parse_ok("0 12 * * 7"); /* 7 is Sunday */
	assert_string_equal(set(c.dows, 0, 6), "{0}");
	c = parse_ok("0 12 * * 5-7");
	assert_string_equal(set(c.dows, 0, 6), "{0,5,6}");
	c = parse_ok("5/20 * * * *"); /* a/step runs to the field's end */
	assert_string_equal(set(c.minutes, 0, 59), "{5,25,45}");
	c = parse_ok("0 0 29 2 *"); /* leap days exist */
	assert_string_equal(set(c.doms, 1, 31), "{29}");
	c = parse_ok("0 0 31 2 MON"); /* impossible day, but Mondays of February fire */
	assert_false(c.dow_any);
}

static void macros(void **state)
{
	(void)state;
	struct cron_spec c = parse_ok("@hourly");
	assert_string_equal(set(c.minutes, 0, 59), "{0}");
	assert_string_equal(set(c.hours, 0, 23), "{0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23}");
	assert_false(c.fixed);
	c = parse_ok("@daily");
	assert_string_equal(set(c.hours, 0, 23), "{0}");
	assert_true(c.fixed);
	c = parse_ok("@WEEKLY");
	assert_string_equal(set(c.dows, 0, 6), "{0}");
	c = parse_ok("@yearly");
	assert_string_equal(set(c.months, 1, 12), "{1}");
	assert_string_equal(set(c.doms, 1, 31), "{1}");
	parse_bad("@reboot", "unknown macro");
	parse_bad("@daily 5", "unknown macro");
}

static void refusals_name_the_field(void **state)
{
	(void)state;
	parse_bad("", "five fields");
	parse_bad("* * * *", "not 4");
	parse_bad("* * * * * *", "not more than 5");
	parse_bad("60 * * * *", "minute field '60': 60 is out of range 0-59");
	parse_bad("0 24 * * *", "hour field '24'");
	parse_bad("0 0 0 * *", "day-of-month field '0'");
	parse_bad("0 0 * 13 *", "month field '13'");
	parse_bad("0 0 * * 8", "day-of-week field '8'");
	parse_bad("0 0 * FOO *", "month field 'FOO': unknown name");
	parse_bad("0 0 * * MONDAY", "day-of-week field 'MONDAY': unknown name");
	parse_bad("0 0 * JAN-FOO *", "unknown name");
	parse_bad("5-1 * * * *", "runs backwards");
	parse_bad("*/0 * * * *", "the step must be 1-60");
	parse_bad("*/x * * * *", "a step must be a number");
	parse_bad("1,,2 * * * *", "empty list item");
	parse_bad("1, * * * *", "empty list item");
	parse_bad("1-2-3 * * * *", "unexpected '-'");
	parse_bad("? * * * *", "expected a number");
	parse_bad("0 0 30 2 *", "no selected month has such a day");
	parse_bad("0 0 31 4,6,9,11 *", "no selected month");
	parse_bad("MON * * * *", "minute field 'MON': expected a number, '*'");
	parse_bad("99999999999999999999 * * * *", "out of range");
}

static int validate(const char *json, struct validation_error *ve, struct schedule_parsed *p)
{
	json_t *def = json_loads(json, 0, NULL);
	assert_non_null(def);
	int rc = schedule_validate(def, p, ve);
	json_decref(def);
	return rc;
}

static void schedule_definitions(void **state)
{
	(void)state;
	struct validation_error ve;
	struct schedule_parsed p;
	json_t *def = json_loads("{\"pipeline\":\"marketplace_postgresql_incremental\",\"cron\":\"0 * * * *\"}", 0, NULL);
	assert_int_equal(schedule_validate(def, &p, &ve), 0);
	assert_string_equal(json_string_value(json_object_get(def, "timezone")), "UTC");
	assert_string_equal(json_string_value(json_object_get(def, "catchup")), "none");
	assert_int_equal(json_integer_value(json_object_get(def, "max_active_runs")), 1);
	assert_string_equal(json_string_value(json_object_get(def, "retry_delay")), "PT5M");
	assert_int_equal(p.retry_delay_secs, 300);
	assert_int_equal(p.deadline_secs, -1);
	json_decref(def);

	static const struct { const char *json, *field, *reason; } bad[] = {
		{"{\"cron\":\"0 * * * *\"}", "pipeline", "exactly one target"},
		{"{\"pipeline\":\"a_postgresql_full\",\"task\":\"monitoring_checks\",\"cron\":\"0 * * * *\"}", "pipeline", "exactly one"},
		{"{\"pipeline\":\"nonsense\",\"cron\":\"0 * * * *\"}", "pipeline", "<system>_<source_type>_<load_type>"},
		{"{\"task\":\"make_coffee\",\"cron\":\"0 * * * *\"}", "task", "monitoring_checks, stale_files_check"},
		{"{\"source_id\":3,\"cron\":\"0 * * * *\"}", "load_type", "is required"},
		{"{\"source_id\":0,\"load_type\":\"full\",\"cron\":\"0 * * * *\"}", "source_id", "positive"},
		{"{\"task\":\"monitoring_checks\"}", "cron", "is required"},
		{"{\"task\":\"monitoring_checks\",\"cron\":\"0 25 * * *\"}", "cron", "hour field '25'"},
		{"{\"task\":\"monitoring_checks\",\"cron\":\"* * * * *\",\"timezone\":\"a;b\"}", "timezone", "IANA"},
		{"{\"task\":\"monitoring_checks\",\"cron\":\"* * * * *\",\"catchup\":\"some\"}", "catchup", "none, all"},
		{"{\"task\":\"monitoring_checks\",\"cron\":\"* * * * *\",\"max_active_runs\":0}", "max_active_runs", "1 to 64"},
		{"{\"task\":\"monitoring_checks\",\"cron\":\"* * * * *\",\"deadline\":\"2 hours\"}", "deadline", "ISO 8601"},
		{"{\"task\":\"monitoring_checks\",\"cron\":\"* * * * *\",\"deadline\":\"PT0S\"}", "deadline", "above zero"},
		{"{\"task\":\"monitoring_checks\",\"cron\":\"* * * * *\",\"next_fires\":[]}", "next_fires", "computed"},
		{"{\"task\":\"monitoring_checks\",\"cron\":\"* * * * *\",\"colour\":1}", "colour", "not a field"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(validate(bad[i].json, &ve, &p), -1);
		if (strcmp(ve.field, bad[i].field) || !strstr(ve.message, bad[i].reason))
			fail_msg("%s: got %s '%s', want %s '%s'", bad[i].json, ve.field, ve.message, bad[i].field,
				 bad[i].reason);
	}
	assert_int_equal(validate("{\"source_id\":3,\"load_type\":\"full\",\"cron\":\"@daily\",\"deadline\":\"PT1H30M\"}",
				  &ve, &p), 0);
	assert_int_equal(p.deadline_secs, 5400);
}

static void durations(void **state)
{
	(void)state;
	assert_int_equal(schedule_duration_parse("PT45M"), 2700);
	assert_int_equal(schedule_duration_parse("P1D"), 86400);
	assert_int_equal(schedule_duration_parse("P1DT2H3M4S"), 86400 + 7200 + 180 + 4);
	assert_int_equal(schedule_duration_parse("P2W"), 14 * 86400);
	assert_int_equal(schedule_duration_parse("PT0S"), 0);
	assert_int_equal(schedule_duration_parse("P366D"), 366LL * 86400);
	assert_int_equal(schedule_duration_parse("P367D"), -1);
	assert_int_equal(schedule_duration_parse("P"), -1);
	assert_int_equal(schedule_duration_parse("PT"), -1);
	assert_int_equal(schedule_duration_parse("P1H"), -1);   /* hours belong after T */
	assert_int_equal(schedule_duration_parse("PT1D"), -1);
	assert_int_equal(schedule_duration_parse("PT5M1H"), -1); /* out of order */
	assert_int_equal(schedule_duration_parse("1H"), -1);
	assert_int_equal(schedule_duration_parse("PT1.5H"), -1);
	assert_int_equal(schedule_duration_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fields_and_forms),
		cmocka_unit_test(macros),
		cmocka_unit_test(refusals_name_the_field),
		cmocka_unit_test(schedule_definitions),
		cmocka_unit_test(durations),
	};
	return cmocka_run_group_tests_name("cron", tests, NULL, NULL);
}
