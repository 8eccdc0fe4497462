/* The rules of a source definition, one function per field group. The
 * order of the checks is the order a user reads the definition in, so the
 * first problem reported is the first one they would find. */
#include "control/source_validate.h"
#include "control/schedule_validate.h"
#include "jobs/sources/kind.h"
#include "lib/secret.h"
#include "lib/sqlident.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define COLUMNS_MAX 1600
#define TEXT_MAX 128

static const char *const known_fields[] = {
	"system", "source_type", "database", "schema", "object", "columns", "load_type",
	"offset_mode", "offset_column", "last_offset", "active", "connection_secret", "options",
	"project", "region", "max_parallel_tasks", NULL};
static const char *const read_only_fields[] = {"id", "created_at", "updated_at", NULL};

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

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Reads an optional string field; a present non-string is an error. */
static int opt_string(json_t *src, const char *field, const char **out, struct validation_error *err)
{
	json_t *v = json_object_get(src, field);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(err, field, "must be a string");
	*out = json_string_value(v);
	return 0;
}

static int req_ident(json_t *src, const char *field, const char **out, struct validation_error *err)
{
	if (opt_string(src, field, out, err))
		return -1;
	if (!*out || !**out)
		return fail(err, field, "is required");
	if (!sqlident_valid(*out))
		return fail(err, field, "must be a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)");
	return 0;
}

static int req_enum(json_t *src, const char *field, const char *const *values, const char **out,
		    struct validation_error *err)
{
	if (opt_string(src, field, out, err))
		return -1;
	if (!*out)
		return fail(err, field, "is required");
	if (!in_list(*out, values)) {
		char allowed[128] = "";
		for (const char *const *v = values; *v; v++)
			snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s",
				 v == values ? "" : ", ", *v);
		return fail(err, field, "must be one of: %s", allowed);
	}
	return 0;
}

static int req_source_type(json_t *src, const char **out, struct validation_error *err)
{
	if (opt_string(src, "source_type", out, err))
		return -1;
	if (!*out)
		return fail(err, "source_type", "is required");
	if (!source_kind_find(*out)) {
		char allowed[128] = "";
		for (const struct source_kind *const *k = source_kinds; *k; k++)
			snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s",
				 k == source_kinds ? "" : ", ", (*k)->name);
		return fail(err, "source_type", "must be one of: %s", allowed);
	}
	return 0;
}

/* --- column types ---------------------------------------------------- */

struct type_rule { const char *name; int max_args; };

static const struct type_rule type_rules[] = {
	{"smallint", 0}, {"integer", 0}, {"int", 0}, {"bigint", 0}, {"real", 0},
	{"double precision", 0}, {"float", 0}, {"numeric", 2}, {"decimal", 2}, {"boolean", 0},
	{"bool", 0}, {"text", 0}, {"varchar", 1}, {"character varying", 1}, {"char", 1},
	{"date", 0}, {"time", 1}, {"timestamp", 1}, {"timestamptz", 1}, {"interval", 0},
	{"uuid", 0}, {"json", 0}, {"jsonb", 0}, {"bytea", 0}, {NULL, 0}};

const char *source_column_type(const char *type, char *buf, size_t len)
{
	char norm[64];
	size_t o = 0;
	bool space = false;
	for (const char *p = type; *p; p++) {
		if (o + 2 >= sizeof norm)
			return NULL;
		if (isspace((unsigned char)*p)) {
			space = o > 0;
			continue;
		}
		if (space && *p != '(' && *p != ')' && *p != ',' && norm[o - 1] != '(' && norm[o - 1] != ',')
			norm[o++] = ' ';
		space = false;
		norm[o++] = (char)tolower((unsigned char)*p);
	}
	norm[o] = 0;

	char *paren = strchr(norm, '(');
	size_t base_len = paren ? (size_t)(paren - norm) : o;
	for (const struct type_rule *r = type_rules; r->name; r++) {
		if (strlen(r->name) != base_len || strncmp(norm, r->name, base_len) != 0)
			continue;
		if (paren) {
			/* (n) or (p,s): digits only, at most max_args numbers, each < 10000 */
			int args = 0;
			const char *p = paren + 1;
			for (;;) {
				int digits = 0;
				while (isdigit((unsigned char)*p))
					p++, digits++;
				if (digits == 0 || digits > 4)
					return NULL;
				args++;
				if (*p == ',') {
					p++;
					continue;
				}
				if (*p == ')' && p[1] == 0)
					break;
				return NULL;
			}
			if (args > r->max_args)
				return NULL;
		}
		snprintf(buf, len, "%s", norm);
		return buf;
	}
	return NULL;
}

/* --- field groups ---------------------------------------------------- */

/* Reals at or beyond 2^63 are stored by PostgreSQL as integers that no
 * 64-bit reader (jansson, the API's clients) can take back: refuse them
 * anywhere in the definition, naming the field. `path` is where `v` is. */
static int check_numbers(json_t *v, const char *path, struct validation_error *err)
{
	char sub[128];
	if (json_is_real(v) && fabs(json_real_value(v)) >= 9223372036854775808.0)
		return fail(err, path, "is a number beyond 64 bits (at most 9.2e18 in magnitude)");
	if (json_is_object(v)) {
		const char *key;
		json_t *m;
		json_object_foreach(v, key, m) {
			snprintf(sub, sizeof sub, "%s%s%.64s", path, *path ? "." : "", key);
			if (check_numbers(m, sub, err))
				return -1;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m) {
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			if (check_numbers(m, sub, err))
				return -1;
		}
	}
	return 0;
}

/* accepted_values: non-empty strings compared with the column as text (a
 * null would turn the check off, an object or number would never match
 * the text the column is compared as). */
static int check_accepted_values(json_t *values, const char *check_field, struct validation_error *err)
{
	char field[160];
	size_t i;
	json_t *v;
	if (!json_is_array(values) || json_array_size(values) == 0)
		return fail(err, check_field, "accepted_values needs a non-empty \"values\" array");
	if (json_array_size(values) > 10000)
		return fail(err, check_field, "accepted_values may list at most 10000 values");
	json_array_foreach(values, i, v) {
		snprintf(field, sizeof field, "%s.values[%zu]", check_field, i);
		if (!json_is_string(v))
			return fail(err, field, "must be a string (write numbers as text, e.g. \"42\"; null is not a value)");
	}
	return 0;
}

static int check_fields_known(json_t *src, struct validation_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(src, key, v) {
		if (in_list(key, read_only_fields))
			return fail(err, key, "is read-only");
		if (!in_list(key, known_fields))
			return fail(err, key, "is not a field of a source");
	}
	return 0;
}

/* A JSON path into an API record: dot-separated names, e.g. "product.id". */
static bool json_path_valid(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > 256 || p[0] == '.' || p[n - 1] == '.' || strstr(p, ".."))
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

static int check_columns(json_t *src, bool api, bool *has_key, struct validation_error *err)
{
	json_t *cols = json_object_get(src, "columns");
	char field[128];

	*has_key = false;
	if (!cols || json_is_null(cols))
		return fail(err, "columns", "is required: a list of {name, type, key}");
	if (!json_is_array(cols))
		return fail(err, "columns", "must be an array of {name, type, key}");
	if (json_array_size(cols) == 0)
		return fail(err, "columns", "must not be empty");
	if (json_array_size(cols) > COLUMNS_MAX)
		return fail(err, "columns", "may have at most %d entries", COLUMNS_MAX);

	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c) {
		if (!json_is_object(c)) {
			snprintf(field, sizeof field, "columns[%zu]", i);
			return fail(err, field, "must be an object {name, type, key}");
		}
		const char *k;
		json_t *kv;
		json_object_foreach(c, k, kv) {
			if (strcmp(k, "name") && strcmp(k, "type") && strcmp(k, "key") && (!api || strcmp(k, "path"))) {
				snprintf(field, sizeof field, "columns[%zu].%.32s", i, k);
				return fail(err, field, api ? "is not a field of a column (name, type, key, path)"
							    : "is not a field of a column (name, type, key)");
			}
			if (!strcmp(k, "path") && (!json_is_string(kv) || !json_path_valid(json_string_value(kv)))) {
				snprintf(field, sizeof field, "columns[%zu].path", i);
				return fail(err, field, "must be a dotted path into the record, e.g. product.id");
			}
		}
		json_t *name = json_object_get(c, "name"), *type = json_object_get(c, "type");
		json_t *key = json_object_get(c, "key");
		snprintf(field, sizeof field, "columns[%zu].name", i);
		if (!json_is_string(name))
			return fail(err, field, "is required and must be a string");
		if (!sqlident_valid(json_string_value(name)))
			return fail(err, field, "must be a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)");
		if (json_string_value(name)[0] == '_')
			return fail(err, field, "must not start with '_' (reserved for the lake's own columns)");
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(json_string_value(json_object_get(json_array_get(cols, j), "name")),
				       json_string_value(name)) == 0)
				return fail(err, field, "repeats the column name '%s'", json_string_value(name));
		snprintf(field, sizeof field, "columns[%zu].type", i);
		if (!json_is_string(type))
			return fail(err, field, "is required and must be a string");
		char norm[64];
		if (!source_column_type(json_string_value(type), norm, sizeof norm))
			return fail(err, field, "'%.64s' is not a supported type (e.g. bigint, numeric(12,2), text, timestamptz, date, boolean, jsonb)",
				    json_string_value(type));
		json_object_set_new(c, "type", json_string(norm));
		snprintf(field, sizeof field, "columns[%zu].key", i);
		if (key && !json_is_boolean(key))
			return fail(err, field, "must be true or false");
		if (!key)
			json_object_set_new(c, "key", json_false());
		if (json_is_true(json_object_get(c, "key")))
			*has_key = true;
	}
	if (!*has_key)
		return fail(err, "columns", "must mark at least one column as key (\"key\": true)");
	return 0;
}

static bool column_exists(json_t *src, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(src, "columns"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return true;
	return false;
}

/* The offset modes, in the order of their OFFSET_* bits; "none" is a full load's. */
static const char *const offset_modes[] = {"change_tracking", "watermark", "files", NULL};

static const char *offset_mode_name(unsigned bit)
{
	for (size_t i = 0; offset_modes[i]; i++)
		if (bit == 1u << i)
			return offset_modes[i];
	return "none";
}

static unsigned offset_mode_bit(const char *name)
{
	for (size_t i = 0; offset_modes[i]; i++)
		if (strcmp(name, offset_modes[i]) == 0)
			return 1u << i;
	return 0;
}

/* "change_tracking or watermark": the modes of a kind, for messages. */
static void offset_mode_list(unsigned modes, char *out, size_t len)
{
	out[0] = 0;
	for (size_t i = 0; offset_modes[i]; i++)
		if (modes & (1u << i))
			snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " or " : "", offset_modes[i]);
}

static int check_offsets(json_t *src, const struct source_kind *kind, const char *load_type,
			 struct validation_error *err)
{
	static const char *const modes[] = {"none", "change_tracking", "watermark", "files", NULL};
	const char *mode, *column;
	bool incremental = strcmp(load_type, "incremental") == 0;
	char allowed[64];

	if (!json_object_get(src, "offset_mode") || json_is_null(json_object_get(src, "offset_mode")))
		json_object_set_new(src, "offset_mode",
				    json_string(incremental ? offset_mode_name(kind->default_offset_mode) : "none"));
	if (req_enum(src, "offset_mode", modes, &mode, err) || opt_string(src, "offset_column", &column, err))
		return -1;
	offset_mode_list(kind->offset_modes, allowed, sizeof allowed);
	if (!incremental && strcmp(mode, "none") != 0)
		return fail(err, "offset_mode", "must be none for a full load");
	if (incremental && strcmp(mode, "none") == 0)
		return fail(err, "offset_mode", "an incremental %s load needs %s", kind->name, allowed);
	if (incremental && !(offset_mode_bit(mode) & kind->offset_modes))
		return fail(err, "offset_mode", "%s sources track changes by %s, not %s", kind->name, allowed, mode);
	if (strcmp(mode, "watermark") == 0) {
		if (!column)
			return fail(err, "offset_column", "is required for a watermark load");
		if (!column_exists(src, column))
			return fail(err, "offset_column", "'%.64s' is not among the columns", column);
	} else if (column) {
		return fail(err, "offset_column", "is only used with offset_mode watermark");
	}
	if (!json_object_get(src, "offset_column"))
		json_object_set_new(src, "offset_column", json_null());

	json_t *last = json_object_get(src, "last_offset");
	if (last && !json_is_null(last) && !json_is_string(last))
		return fail(err, "last_offset", "must be a string or null");
	if (last && json_is_string(last) && strlen(json_string_value(last)) > 4096)
		return fail(err, "last_offset", "may be at most 4096 characters");
	if (!last)
		json_object_set_new(src, "last_offset", json_null());
	return 0;
}

/* options.checks: the data-quality checks run on TRUSTED after each merge. */
static int check_quality_checks(json_t *src, json_t *checks, struct validation_error *err)
{
	static const char *const kinds[] = {"not_null", "accepted_values", "references", "unique",
					    "row_count_not_collapsing", NULL};
	char field[128];
	size_t i;
	json_t *c;
	if (!json_is_array(checks))
		return fail(err, "options.checks", "must be an array of {check, ...}");
	json_array_foreach(checks, i, c) {
		snprintf(field, sizeof field, "options.checks[%zu]", i);
		const char *kind = json_string_value(json_object_get(c, "check"));
		if (!json_is_object(c) || !kind || !in_list(kind, kinds))
			return fail(err, field, "needs \"check\": not_null, accepted_values, references, unique or row_count_not_collapsing");
		const char *column = json_string_value(json_object_get(c, "column"));
		bool needs_column = strcmp(kind, "unique") && strcmp(kind, "row_count_not_collapsing");
		if (needs_column && (!column || !column_exists(src, column)))
			return fail(err, field, "%s needs \"column\", one of the source's columns", kind);
		if (!strcmp(kind, "accepted_values") && check_accepted_values(json_object_get(c, "values"), field, err))
			return -1;
		if (!strcmp(kind, "references") &&
		    (!sqlident_valid(json_string_value(json_object_get(c, "table"))) ||
		     !sqlident_valid(json_string_value(json_object_get(c, "to")))))
			return fail(err, field, "references needs \"table\" (a TRUSTED table, e.g. marketplace_produtos) and \"to\" (its column)");
		if (!strcmp(kind, "unique")) {
			json_t *cols = json_object_get(c, "columns");
			size_t k;
			json_t *name;
			if (!json_is_array(cols) || json_array_size(cols) == 0)
				return fail(err, field, "unique needs a non-empty \"columns\" array");
			json_array_foreach(cols, k, name)
				if (!json_is_string(name) || !column_exists(src, json_string_value(name)))
					return fail(err, field, "unique: every entry of \"columns\" must be one of the source's columns");
		}
		json_t *pct = json_object_get(c, "max_drop_pct");
		if (pct && (!json_is_number(pct) || json_number_value(pct) < 0 || json_number_value(pct) > 100))
			return fail(err, field, "max_drop_pct must be a number from 0 to 100");
	}
	return 0;
}

/* "30s", "90m", "2h", "1d" or an ISO 8601 duration ("PT2H", at most a
 * year), as seconds; -1 when it is neither or beyond `max` seconds. */
static long long option_seconds(const char *s, long long max)
{
	if (!s || !*s)
		return -1;
	if (*s == 'P') {
		long long v = schedule_duration_parse(s);
		return v > max ? -1 : v;
	}
	long long v = 0;
	const char *p = s;
	while (isdigit((unsigned char)*p) && v <= max)
		v = v * 10 + (*p++ - '0');
	if (p == s || p[0] == 0 || p[1] != 0 || !strchr("smhd", p[0]))
		return -1;
	v *= p[0] == 's' ? 1 : p[0] == 'm' ? 60 : p[0] == 'h' ? 3600 : 86400;
	return v > max ? -1 : v;
}

/* options.retention: {"land": "7d", "raw": "365d"}, each optional (the
 * defaults, layers.retention), from an hour to ten years. */
static int check_retention(json_t *retention, struct validation_error *err)
{
	if (!json_is_object(retention))
		return fail(err, "options.retention", "must be an object like {\"land\": \"7d\", \"raw\": \"365d\"}");
	const char *key;
	json_t *v;
	json_object_foreach(retention, key, v) {
		if (strcmp(key, "land") && strcmp(key, "raw"))
			return fail(err, "options.retention", "has an unknown field %.64s (land, raw)", key);
		long long secs = option_seconds(json_string_value(v), 3650LL * 86400);
		if (secs < 3600)
			return fail(err, strcmp(key, "land") ? "options.retention.raw" : "options.retention.land",
				    "must be a duration from 1h to 3650d, like 7d or 365d");
	}
	return 0;
}

/* options.freshness: {"warn_after": "2h", "error_after": "6h"}, each
 * optional, warn_after not after error_after (control.source_health). */
static int check_freshness(json_t *freshness, struct validation_error *err)
{
	static const char *const keys[] = {"warn_after", "error_after", NULL};
	long long secs[2] = {-1, -1};
	if (!json_is_object(freshness))
		return fail(err, "options.freshness", "must be an object like {\"warn_after\": \"2h\", \"error_after\": \"6h\"}");
	const char *key;
	json_t *v;
	json_object_foreach(freshness, key, v) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], key))
			i++;
		if (!keys[i])
			return fail(err, "options.freshness", "has an unknown field %.64s (warn_after, error_after)", key);
		char field[64];
		snprintf(field, sizeof field, "options.freshness.%s", keys[i]);
		secs[i] = option_seconds(json_string_value(v), 366LL * 86400);
		if (secs[i] <= 0)
			return fail(err, field, "must be a duration of at most a year, like 30m, 2h, 1d or PT2H");
	}
	if (secs[0] > 0 && secs[1] > 0 && secs[0] > secs[1])
		return fail(err, "options.freshness.warn_after", "must not be longer than error_after");
	return 0;
}

static int check_misc(json_t *src, const struct source_kind *kind, struct validation_error *err)
{
	const char *secret, *s;
	json_t *v;

	if (opt_string(src, "connection_secret", &secret, err))
		return -1;
	if (secret && secret_ref_problem(secret))
		return fail(err, "connection_secret", "%s", secret_ref_problem(secret));
	bool alternative = kind->secret_option &&
			   json_is_string(json_object_get(json_object_get(src, "options"), kind->secret_option));
	if (!secret && !alternative && kind->needs_secret)
		return fail(err, "connection_secret",
			    "is required for a %s source (e.g. env:" SECRET_DEFAULT_PREFIX "MARKETPLACE_URL%s%s)",
			    kind->name, kind->secret_option ? ", or options." : "",
			    kind->secret_option ? kind->secret_option : "");
	if (!secret)
		json_object_set_new(src, "connection_secret", json_null());

	v = json_object_get(src, "active");
	if (v && !json_is_boolean(v))
		return fail(err, "active", "must be true or false");
	if (!v)
		json_object_set_new(src, "active", json_true());

	v = json_object_get(src, "options");
	if (v && !json_is_null(v) && !json_is_object(v))
		return fail(err, "options", "must be an object");
	if (!v || json_is_null(v))
		json_object_set_new(src, "options", json_object());
	v = json_object_get(src, "options");
	json_t *checks = json_object_get(v, "checks");
	if (checks && check_quality_checks(src, checks, err) != 0)
		return -1;
	json_t *freshness = json_object_get(v, "freshness");
	if (freshness && check_freshness(freshness, err) != 0)
		return -1;
	json_t *retention = json_object_get(v, "retention");
	if (retention && check_retention(retention, err) != 0)
		return -1;
	json_t *children = json_object_get(v, "children");
	if (children) {
		size_t i;
		json_t *c;
		char field[64];
		if (!json_is_array(children) || !kind->has_children)
			return fail(err, "options.children", "is a list of {name, path} for api sources");
		json_array_foreach(children, i, c) {
			snprintf(field, sizeof field, "options.children[%zu]", i);
			const char *name = json_string_value(json_object_get(c, "name"));
			const char *path = json_string_value(json_object_get(c, "path"));
			if (!name || !sqlident_valid(name) || !path || !json_path_valid(path))
				return fail(err, field, "needs a \"name\" (identifier) and a \"path\" (e.g. mentions)");
			if (strlen(json_string_value(json_object_get(src, "system"))) +
			    strlen(json_string_value(json_object_get(src, "object"))) + strlen(name) + 2 > SQLIDENT_MAX)
				return fail(err, field, "system, object and child name together are too long");
		}
	}
	if (kind->validate_options) {
		char field[128], msg[256];
		if (kind->validate_options(src, field, sizeof field, msg, sizeof msg) != 0)
			return fail(err, field, "%s", msg);
	}
	json_t *soft = json_object_get(v, "soft_delete");
	if (soft && !json_is_boolean(soft))
		return fail(err, "options.soft_delete", "must be true or false");

	static const char *const texts[] = {"project", "region", NULL};
	for (const char *const *f = texts; *f; f++) {
		if (opt_string(src, *f, &s, err))
			return -1;
		if (s && strlen(s) > TEXT_MAX)
			return fail(err, *f, "may be at most %d characters", TEXT_MAX);
		if (!s)
			json_object_set_new(src, *f, json_null());
	}

	v = json_object_get(src, "max_parallel_tasks");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 64))
		return fail(err, "max_parallel_tasks", "must be an integer from 1 to 64");
	if (!v)
		json_object_set_new(src, "max_parallel_tasks", json_integer(1));
	return 0;
}

int source_validate(json_t *src, struct validation_error *err)
{
	static const char *const loads[] = {"full", "incremental", NULL};
	const char *system, *type, *database, *schema, *object, *load_type;
	bool has_key;

	memset(err, 0, sizeof *err);
	if (!json_is_object(src))
		return fail(err, "body", "must be a JSON object");
	if (check_fields_known(src, err) || check_numbers(src, "", err) ||
	    req_ident(src, "system", &system, err) ||
	    req_source_type(src, &type, err))
		return -1;
	const struct source_kind *kind = source_kind_find(type);

	if (!kind->relational && !json_object_get(src, "database"))
		json_object_set_new(src, "database", json_string(system));
	if (req_ident(src, "database", &database, err))
		return -1;
	if (opt_string(src, "schema", &schema, err))
		return -1;
	if (schema && !sqlident_valid(schema))
		return fail(err, "schema", "must be a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)");
	if (!schema)
		json_object_set_new(src, "schema", kind->default_schema ? json_string(kind->default_schema) : json_null());
	if (req_ident(src, "object", &object, err))
		return -1;
	/* The lake's tables are named <system>_<object>; keep that a valid name. */
	if (strlen(system) + 1 + strlen(object) > SQLIDENT_MAX)
		return fail(err, "object", "system and object together may have at most %d characters", SQLIDENT_MAX - 1);
	if (check_columns(src, kind->columns_are_paths, &has_key, err) ||
	    req_enum(src, "load_type", loads, &load_type, err) ||
	    check_offsets(src, kind, load_type, err) ||
	    check_misc(src, kind, err))
		return -1;
	return 0;
}

/* RFC 7396: objects merge recursively, null removes, anything else replaces. */
static void merge_into(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)patch, key, v) {
		json_t *have = json_object_get(target, key);
		if (json_is_null(v))
			json_object_del(target, key);
		else if (json_is_object(v) && json_is_object(have))
			merge_into(have, v);
		else if (json_is_object(v)) {
			json_t *fresh = json_object();
			merge_into(fresh, v);
			json_object_set_new(target, key, fresh);
		} else
			json_object_set(target, key, v);
	}
}

json_t *source_merge_patch(const json_t *current, const json_t *patch, struct validation_error *err)
{
	memset(err, 0, sizeof *err);
	if (!json_is_object(patch)) {
		fail(err, "body", "must be a JSON object");
		return NULL;
	}
	json_t *merged = json_deep_copy(current);
	for (const char *const *f = read_only_fields; *f; f++)
		json_object_del(merged, *f);

	const char *key;
	json_t *v;
	json_object_foreach((json_t *)patch, key, v) {
		if (in_list(key, read_only_fields)) {
			fail(err, key, "is read-only");
			json_decref(merged);
			return NULL;
		}
	}
	merge_into(merged, patch);
	return merged;
}
