/* Source definitions: every rule reports the field at fault; defaults are filled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "control/source_validate.h"

static const char *valid_pg =
	"{\"system\":\"marketplace\",\"source_type\":\"postgresql\",\"database\":\"marketplace\","
	"\"object\":\"vendas\",\"columns\":[{\"name\":\"id\",\"type\":\"bigint\",\"key\":true},"
	"{\"name\":\"total\",\"type\":\"NUMERIC( 14 , 2 )\"},{\"name\":\"updated_at\",\"type\":\"timestamptz\"}],"
	"\"load_type\":\"incremental\",\"connection_secret\":\"env:LAKE_SECRET_MARKETPLACE_URL\"}";

/* Validates `base` with `key` set to the JSON `value` (or removed if NULL). */
static int check_with(const char *base, const char *key, const char *value, struct validation_error *ve)
{
	json_t *src = json_loads(base, 0, NULL);
	assert_non_null(src);
	if (key && value)
		json_object_set_new(src, key, json_loads(value, JSON_DECODE_ANY, NULL));
	else if (key)
		json_object_del(src, key);
	int rc = source_validate(src, ve);
	json_decref(src);
	return rc;
}

static void expect_field(const char *key, const char *value, const char *field, const char *words)
{
	struct validation_error ve;
	assert_int_equal(check_with(valid_pg, key, value, &ve), -1);
	assert_string_equal(ve.field, field);
	if (!strstr(ve.message, words))
		fail_msg("message '%s' lacks '%s'", ve.message, words);
}

static void valid_definition_gets_defaults(void **state)
{
	json_t *src = json_loads(valid_pg, 0, NULL);
	struct validation_error ve;
	assert_int_equal(source_validate(src, &ve), 0);
	assert_string_equal(json_string_value(json_object_get(src, "schema")), "public");
	assert_string_equal(json_string_value(json_object_get(src, "offset_mode")), "change_tracking");
	assert_true(json_is_true(json_object_get(src, "active")));
	assert_int_equal(json_integer_value(json_object_get(src, "max_parallel_tasks")), 1);
	json_t *col1 = json_array_get(json_object_get(src, "columns"), 1);
	assert_string_equal(json_string_value(json_object_get(col1, "type")), "numeric(14,2)");
	assert_true(json_is_false(json_object_get(col1, "key")));
	json_decref(src);
}

static void required_and_enumerated_fields(void **state)
{
	expect_field("system", NULL, "system", "required");
	expect_field("source_type", "\"oracle\"", "source_type", "one of");
	expect_field("load_type", "\"sometimes\"", "load_type", "one of");
	expect_field("object", "\"vendas; DROP TABLE x\"", "object", "identifier");
	expect_field("database", "42", "database", "string");
	expect_field("surprise", "1", "surprise", "not a field");
	expect_field("id", "1", "id", "read-only");
}

static void column_rules(void **state)
{
	expect_field("columns", "[]", "columns", "empty");
	expect_field("columns", "{}", "columns", "array");
	expect_field("columns", "[{\"name\":\"id\",\"type\":\"bigint\"}]", "columns", "key");
	expect_field("columns", "[{\"name\":\"id\",\"type\":\"bigint\",\"key\":true},{\"name\":\"ID\",\"type\":\"int\"}]",
		     "columns[1].name", "repeats");
	expect_field("columns", "[{\"name\":\"id\",\"type\":\"blob\",\"key\":true}]", "columns[0].type", "not a supported type");
	expect_field("columns", "[{\"name\":\"id\",\"type\":\"numeric(1,2,3)\",\"key\":true}]", "columns[0].type", "not a supported type");
	expect_field("columns", "[{\"name\":\"_job_id\",\"type\":\"int\",\"key\":true}]", "columns[0].name", "reserved");
	expect_field("columns", "[{\"name\":\"id\",\"type\":\"int\",\"key\":\"yes\"}]", "columns[0].key", "true or false");
	expect_field("columns", "[{\"name\":\"id\",\"type\":\"int\",\"key\":true,\"x\":1}]", "columns[0].x", "not a field");
}

static void offset_rules(void **state)
{
	expect_field("offset_mode", "\"watermark\"", "offset_column", "required");
	struct validation_error ve;
	json_t *src = json_loads(valid_pg, 0, NULL);
	json_object_set_new(src, "offset_mode", json_string("watermark"));
	json_object_set_new(src, "offset_column", json_string("missing"));
	assert_int_equal(source_validate(src, &ve), -1);
	assert_string_equal(ve.field, "offset_column");
	assert_non_null(strstr(ve.message, "not among the columns"));
	json_object_set_new(src, "offset_column", json_string("updated_at"));
	assert_int_equal(source_validate(src, &ve), 0);
	json_object_set_new(src, "load_type", json_string("full"));
	assert_int_equal(source_validate(src, &ve), -1);
	assert_string_equal(ve.field, "offset_mode");
	json_decref(src);
}

static void secrets_only_by_reference(void **state)
{
	expect_field("connection_secret", "\"hunter2\"", "connection_secret", "reference");
	expect_field("connection_secret", NULL, "connection_secret", "required");
	/* the policy: the server's own variables, others without the prefix, files outside the directory */
	expect_field("connection_secret", "\"env:SHOPPERLAKE_ADMIN_TOKEN\"", "connection_secret", "SHOPPERLAKE_SECRET_PREFIX");
	expect_field("connection_secret", "\"env:PATH\"", "connection_secret", "prefix");
	expect_field("connection_secret", "\"file:/etc/shadow\"", "connection_secret", "SHOPPERLAKE_SECRETS_DIR");
	expect_field("connection_secret", "\"file:/proc/self/environ\"", "connection_secret", "secrets directory");
	expect_field("connection_secret", "\"file:/run/secrets/../../etc/shadow\"", "connection_secret", "..");
	expect_field("connection_secret", "\"file:/run/secrets/./x\"", "connection_secret", "secrets directory");
	expect_field("connection_secret", "\"file:/run/secrets\"", "connection_secret", "secrets directory");
	expect_field("connection_secret", "\"file:/run/secretsX/y\"", "connection_secret", "secrets directory");
	struct validation_error ve;
	assert_int_equal(check_with(valid_pg, "connection_secret", "\"file:/run/secrets/marketplace\"", &ve), 0);
	assert_int_equal(check_with(valid_pg, "connection_secret", "\"env:LAKE_SECRET_X\"", &ve), 0);
	expect_field("max_parallel_tasks", "0", "max_parallel_tasks", "1 to 64");
	expect_field("options", "[]", "options", "object");
}

static void quality_checks(void **state)
{
	expect_field("options", "{\"checks\": {}}", "options.checks", "array");
	expect_field("options", "{\"checks\": [{\"check\": \"sometimes\"}]}", "options.checks[0]", "needs");
	expect_field("options", "{\"checks\": [{\"check\": \"not_null\", \"column\": \"nope\"}]}",
		     "options.checks[0]", "one of the source's columns");
	expect_field("options", "{\"checks\": [{\"check\": \"references\", \"column\": \"id\", \"table\": \"x; drop\", \"to\": \"id\"}]}",
		     "options.checks[0]", "references");
	expect_field("options", "{\"soft_delete\": 1}", "options.soft_delete", "true or false");
	expect_field("options", "{\"freshness\": {\"warn_after\": \"2x\"}}", "options.freshness.warn_after", "duration");
	expect_field("options", "{\"freshness\": {\"warn_after\": \"P2Y\"}}", "options.freshness.warn_after", "duration");
	expect_field("options", "{\"freshness\": {\"warn_after\": \"3h\", \"error_after\": \"PT2H\"}}",
		     "options.freshness.warn_after", "not be longer");
	expect_field("options", "{\"retention\": {\"land\": \"30m\"}}", "options.retention.land", "1h to 3650d");
	expect_field("options", "{\"retention\": {\"raw\": \"3651d\"}}", "options.retention.raw", "1h to 3650d");
	expect_field("options", "{\"retention\": {\"rejects\": \"1d\"}}", "options.retention", "unknown field");
	struct validation_error ve;
	assert_int_equal(check_with(valid_pg, "options",
		"{\"freshness\": {\"warn_after\": \"90m\", \"error_after\": \"P1D\"}, "
		"\"retention\": {\"land\": \"1d\", \"raw\": \"730d\"}}", &ve), 0);
	assert_int_equal(check_with(valid_pg, "options",
		"{\"soft_delete\": true, \"checks\": [{\"check\": \"not_null\", \"column\": \"total\"},"
		"{\"check\": \"unique\", \"columns\": [\"id\", \"total\"]},"
		"{\"check\": \"row_count_not_collapsing\", \"max_drop_pct\": 30},"
		"{\"check\": \"accepted_values\", \"column\": \"total\", \"values\": [\"1\", \"2\"]}]}", &ve), 0);
	/* accepted_values are strings: a null would turn the check off */
	expect_field("options", "{\"checks\": [{\"check\": \"accepted_values\", \"column\": \"total\", \"values\": [\"1\", null]}]}",
		     "options.checks[0].values[1]", "string");
	expect_field("options", "{\"checks\": [{\"check\": \"accepted_values\", \"column\": \"total\", \"values\": [{}]}]}",
		     "options.checks[0].values[0]", "string");
	/* numbers beyond 64 bits, wherever they are */
	expect_field("options", "{\"x\": 1e20}", "options.x", "64 bits");
	expect_field("options", "{\"a\": [{\"b\": -9.3e18}]}", "options.a[0].b", "64 bits");
	assert_int_equal(check_with(valid_pg, "options", "{\"x\": 9.2e18, \"y\": 1.5}", &ve), 0);
}

static void merge_patch(void **state)
{
	struct validation_error ve;
	json_t *cur = json_pack("{s:i, s:s, s:{s:i, s:i}}", "id", 3, "system", "a", "options", "x", 1, "y", 2);
	json_t *patch = json_pack("{s:s, s:{s:n, s:i}}", "system", "b", "options", "x", "z", 3);
	json_t *m = source_merge_patch(cur, patch, &ve);
	assert_non_null(m);
	assert_null(json_object_get(m, "id"));
	assert_string_equal(json_string_value(json_object_get(m, "system")), "b");
	json_t *opt = json_object_get(m, "options");
	assert_null(json_object_get(opt, "x"));
	assert_int_equal(json_integer_value(json_object_get(opt, "y")), 2);
	assert_int_equal(json_integer_value(json_object_get(opt, "z")), 3);
	json_decref(m);
	json_decref(patch);
	patch = json_pack("{s:s}", "created_at", "2020-01-01");
	assert_null(source_merge_patch(cur, patch, &ve));
	assert_string_equal(ve.field, "created_at");
	json_decref(patch);
	json_decref(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_definition_gets_defaults),
		cmocka_unit_test(required_and_enumerated_fields),
		cmocka_unit_test(column_rules),
		cmocka_unit_test(offset_rules),
		cmocka_unit_test(secrets_only_by_reference),
		cmocka_unit_test(quality_checks),
		cmocka_unit_test(merge_patch),
	};
	return cmocka_run_group_tests_name("source_validate", tests, NULL, NULL);
}
