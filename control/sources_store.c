/* SQL for control.sources. The definition travels as one jsonb parameter
 * and PostgreSQL takes it apart, so no value is ever spliced into SQL. */
#include "control/sources_store.h"
#include "jobs/sources/kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOURCE_COLUMNS_FROM_JSON \
	"j->>'system', j->>'source_type', j->>'database', j->>'schema', j->>'object', " \
	"j->'columns', j->>'load_type', j->>'offset_mode', j->>'offset_column', j->>'last_offset', " \
	"(j->>'active')::boolean, j->>'connection_secret', j->'options', j->>'project', " \
	"j->>'region', (j->>'max_parallel_tasks')::integer"

static const char sql_insert[] =
	"INSERT INTO control.sources AS s (system, source_type, database, schema, object, columns, "
	"load_type, offset_mode, offset_column, last_offset, active, connection_secret, options, "
	"project, region, max_parallel_tasks) "
	"SELECT " SOURCE_COLUMNS_FROM_JSON " FROM (SELECT $1::jsonb AS j) AS d "
	"RETURNING control.source_json(s)";

static const char sql_update[] =
	"UPDATE control.sources AS s SET (system, source_type, database, schema, object, columns, "
	"load_type, offset_mode, offset_column, last_offset, active, connection_secret, options, "
	"project, region, max_parallel_tasks, updated_at) = "
	"(SELECT " SOURCE_COLUMNS_FROM_JSON ", now() FROM (SELECT $2::jsonb AS j) AS d) "
	"WHERE s.id = $1 RETURNING control.source_json(s)";

static const char sql_get[] =
	"SELECT control.source_json(s) FROM control.sources s WHERE s.id = $1";
static const char sql_get_locked[] =
	"SELECT control.source_json(s) FROM control.sources s WHERE s.id = $1 FOR UPDATE";
static const char sql_delete[] =
	"DELETE FROM control.sources s WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM control.jobs j "
	"WHERE j.source_id = s.id AND j.state IN ('JOB_STATE_QUEUED', 'JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING'))";
static const char sql_exists[] = "SELECT 'true' FROM control.sources WHERE id = $1";
/* Every lake table a source owns: <system>_<object>, its _quarantine, an
 * sftp source's _rejects and an api source's _<child> tables. $2 holds the
 * new definition's names; the first other source owning one of them wins. */
static const char sql_lake_owner[] =
	"WITH theirs AS ("
	" SELECT s.id, s.system || '.' || s.object AS who, t.name FROM control.sources s, LATERAL ("
	"  SELECT s.lake_table UNION ALL SELECT s.lake_table || '_quarantine'"
	"  UNION ALL SELECT s.lake_table || '_rejects' WHERE s.source_type = 'sftp'"
	"  UNION ALL SELECT s.lake_table || '_' || (c->>'name') FROM jsonb_array_elements("
	"   CASE WHEN jsonb_typeof(s.options->'children') = 'array' THEN s.options->'children' ELSE '[]' END) c"
	" ) AS t(name) WHERE s.id <> $1) "
	"SELECT json_build_object('id', th.id, 'who', th.who, 'table', th.name) FROM theirs th "
	"WHERE th.name = ANY ($2::text[]) ORDER BY th.id LIMIT 1";
static const char sql_list[] =
	"SELECT control.source_json(s)::jsonb || jsonb_build_object('health', h.h) "
	"FROM control.sources s, LATERAL (SELECT control.source_health(s, $6::timestamptz)::jsonb AS h) h "
	"WHERE ($1::text IS NULL OR s.system = $1) AND ($2::text IS NULL OR s.source_type = $2) "
	"AND ($3::boolean IS NULL OR s.active = $3) AND s.id > $4 "
	"AND ($7::text IS NULL OR h.h->>'state' = $7) ORDER BY s.id LIMIT $5";
static const char sql_get_health[] =
	"SELECT control.source_json(s)::jsonb || jsonb_build_object('health', control.source_health(s, $2::timestamptz)) "
	"|| jsonb_strip_nulls(jsonb_build_object('ct_headroom', control.ct_headroom_json(s, $2::timestamptz))) "
	"FROM control.sources s WHERE s.id = $1";

enum store_result sources_insert(PGconn *c, json_t *def, json_t **out, struct store_error *e)
{
	char *text = json_dumps(def, JSON_COMPACT);
	const char *params[1] = {text};
	enum store_result res = store_one_json(c, sql_insert, 1, params, out, e);
	free(text);
	return res;
}

enum store_result sources_get(PGconn *c, long long id, bool lock, json_t **out, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[1] = {idbuf};
	return store_one_json(c, lock ? sql_get_locked : sql_get, 1, params, out, e);
}

enum store_result sources_get_health(PGconn *c, long long id, const char *now, json_t **out, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[2] = {idbuf, now};
	return store_one_json(c, sql_get_health, 2, params, out, e);
}

enum store_result sources_update(PGconn *c, long long id, json_t *def, json_t **out, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	char *text = json_dumps(def, JSON_COMPACT);
	const char *params[2] = {idbuf, text};
	enum store_result res = store_one_json(c, sql_update, 2, params, out, e);
	free(text);
	return res;
}

enum store_result sources_delete(PGconn *c, long long id, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[1] = {idbuf};
	enum store_result res = store_command(c, sql_delete, 1, params, e);
	if (res != STORE_NOT_FOUND)
		return res;
	json_t *exists;
	res = store_one_json(c, sql_exists, 1, params, &exists, e);
	json_decref(exists);
	if (res != STORE_OK)
		return res;
	snprintf(e->detail, sizeof e->detail, "the source has a queued or running load; cancel it first");
	return STORE_CONFLICT;
}

enum store_result sources_list(PGconn *c, const struct source_filter *f, json_t **items, bool *more,
			       struct store_error *e)
{
	char after[24], limit[16];
	snprintf(after, sizeof after, "%lld", f->after_id);
	snprintf(limit, sizeof limit, "%d", f->limit + 1);
	const char *params[7] = {f->system, f->source_type, f->active, after, limit, f->now, f->health};
	enum store_result res = store_json_rows(c, sql_list, 7, params, items, e);
	if (res != STORE_OK)
		return res;
	*more = (int)json_array_size(*items) > f->limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}

/* The lake tables of a validated definition as a text[] literal (the names
 * are plain identifiers: no quoting needed). */
static char *lake_names(json_t *def)
{
	const char *sys = json_string_value(json_object_get(def, "system"));
	const char *obj = json_string_value(json_object_get(def, "object"));
	const struct source_kind *kind = source_kind_find(json_string_value(json_object_get(def, "source_type")));
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	fprintf(f, "{%s_%s,%s_%s_quarantine", sys, obj, sys, obj);
	if (kind && kind->keeps_rejects)
		fprintf(f, ",%s_%s_rejects", sys, obj);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(def, "options"), "children"), i, c)
		fprintf(f, ",%s_%s_%s", sys, obj, json_string_value(json_object_get(c, "name")));
	fputc('}', f);
	fclose(f);
	return out;
}

enum store_result sources_lake_name_owner(PGconn *c, json_t *def, long long id, struct lake_owner *owner,
					  struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	char *names = lake_names(def);
	const char *params[2] = {idbuf, names};
	json_t *row = NULL;
	memset(owner, 0, sizeof *owner);
	enum store_result res = names ? store_one_json(c, sql_lake_owner, 2, params, &row, e) : STORE_ERROR;
	free(names);
	if (res == STORE_NOT_FOUND)
		return STORE_OK;
	if (res != STORE_OK)
		return res;
	owner->id = (long long)json_integer_value(json_object_get(row, "id"));
	snprintf(owner->who, sizeof owner->who, "%s", json_string_value(json_object_get(row, "who")));
	snprintf(owner->table, sizeof owner->table, "%s", json_string_value(json_object_get(row, "table")));
	json_decref(row);
	return STORE_OK;
}
