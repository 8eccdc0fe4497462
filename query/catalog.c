/* The catalog queries of the query API. Relations are tables (plain or
 * partitioned, not their partitions), views and materialized views of the
 * schemas `trusted` and `refined`; quarantine tables are listed too.
 *
 * Describing a table takes PostgreSQL ~7 ms (most of it planning the
 * operator-class lookups), so descriptions are cached per process. Every
 * request still asks the catalog, in its own snapshot and as lake_reader,
 * for a fingerprint of the table (oid, columns with types and NOT NULL,
 * primary key) and whether it may read it: a statement each lake
 * connection keeps prepared, costing a fraction of a millisecond. A changed
 * fingerprint reloads the description. */
#include "query/catalog.h"
#include "lib/db.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CATALOG_CACHE_MAX 128

bool query_layer_valid(const char *layer)
{
	return layer && (strcmp(layer, "trusted") == 0 || strcmp(layer, "refined") == 0);
}

/* Per column: cast type (no typmod, which would truncate or pad a value —
 * but `character` alone means char(1), so bpchar; bit keeps its length), JSON kind, sortable (a default btree
 * operator class for the base type, its polymorphic family, or a type it is
 * implicitly binary-coercible to — what ORDER BY would find), NOT NULL, primary-key
 * position. Domains are judged by their base type. */
static const char table_sql[] =
	"SELECT a.attname,"
	" CASE bt.oid WHEN 'bpchar'::regtype THEN 'bpchar' WHEN '_bpchar'::regtype THEN 'bpchar[]'"
	"      WHEN 'bit'::regtype THEN format_type(bt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)"
	"      WHEN '_bit'::regtype THEN format_type(bt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)"
	"      ELSE format_type(bt.oid, NULL) END,"
	" CASE WHEN bt.oid IN (20, 21, 23, 26, 700, 701, 1700) THEN 'n' WHEN bt.oid = 16 THEN 'b'"
	"      WHEN bt.oid IN (114, 3802) THEN 'j' ELSE 't' END,"
	" EXISTS (SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod"
	"         WHERE am.amname = 'btree' AND oc.opcdefault"
	"           AND (oc.opcintype = bt.oid"
	"                OR oc.opcintype = CASE bt.typcategory WHEN 'A' THEN 'anyarray'::regtype::oid"
	"                   WHEN 'E' THEN 'anyenum'::regtype::oid WHEN 'R' THEN 'anyrange'::regtype::oid END"
	"                OR EXISTS (SELECT 1 FROM pg_cast pc WHERE pc.castsource = bt.oid"
	"                           AND pc.casttarget = oc.opcintype AND pc.castmethod = 'b'"
	"                           AND pc.castcontext = 'i'))),"
	" a.attnotnull,"
	" coalesce((SELECT k.ord FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord)"
	"           WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum), 0)"
	" FROM pg_class c"
	" JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	" JOIN pg_type t ON t.oid = a.atttypid"
	" JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
	" WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm')"
	"   AND NOT c.relispartition AND has_schema_privilege(n.oid, 'USAGE')"
	"   AND has_table_privilege(c.oid, 'SELECT')"
	" ORDER BY a.attnum";

static enum query_kind kind_of(const char *k)
{
	switch (k[0]) {
	case 'n': return QUERY_KIND_NUMBER;
	case 'b': return QUERY_KIND_BOOL;
	case 'j': return QUERY_KIND_JSON;
	default: return QUERY_KIND_TEXT;
	}
}

static int describe(PGconn *c, const char *schema, const char *name, struct query_table *t,
		    PGresult **res)
{
	const char *params[2] = {schema, name};
	*t = (struct query_table){0};
	*res = PQexecParams(c, table_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(*res) != PGRES_TUPLES_OK)
		return -1;
	int n = PQntuples(*res);
	if (n == 0) {
		PQclear(*res);
		*res = NULL;
		return 0;
	}
	t->schema = strdup(schema);
	t->name = strdup(name);
	t->cols = calloc((size_t)n, sizeof *t->cols);
	if (!t->schema || !t->name || !t->cols)
		goto oom;
	for (int i = 0; i < n; i++) {
		struct query_column *col = &t->cols[t->ncols++];
		col->name = strdup(PQgetvalue(*res, i, 0));
		col->type = strdup(PQgetvalue(*res, i, 1));
		if (!col->name || !col->type)
			goto oom;
		col->kind = kind_of(PQgetvalue(*res, i, 2));
		col->sortable = PQgetvalue(*res, i, 3)[0] == 't';
		col->notnull = PQgetvalue(*res, i, 4)[0] == 't';
		col->pk = atoi(PQgetvalue(*res, i, 5));
		if (col->pk > 0)
			t->npk++;
	}
	PQclear(*res);
	*res = NULL;
	return 1;
oom:
	PQclear(*res);
	*res = NULL;
	query_table_free(t);
	return -1;
}

/* --- the description cache -------------------------------------------- */

static const char fingerprint_sql[] =
	"SELECT c.oid || ':' || coalesce((SELECT string_agg(a.attnum || ' ' || a.attname || ' ' || a.atttypid"
	"         || ' ' || a.attnotnull::int, ',' ORDER BY a.attnum)"
	"       FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')"
	"   || ':' || coalesce((SELECT i.indkey::text FROM pg_index i"
	"       WHERE i.indrelid = c.oid AND i.indisprimary), '')"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm')"
	"   AND NOT c.relispartition AND has_schema_privilege(n.oid, 'USAGE')"
	"   AND has_table_privilege(c.oid, 'SELECT')";

struct cache_entry {
	char *fingerprint;      /* NULL: the slot is free */
	struct query_table t;
	unsigned long long used;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[CATALOG_CACHE_MAX];
static unsigned long long cache_clock;

static int table_copy(struct query_table *dst, const struct query_table *src)
{
	*dst = (struct query_table){.ncols = 0, .npk = src->npk};
	dst->schema = strdup(src->schema);
	dst->name = strdup(src->name);
	dst->cols = calloc(src->ncols ? src->ncols : 1, sizeof *dst->cols);
	if (!dst->schema || !dst->name || !dst->cols)
		goto oom;
	if (src->fingerprint && !(dst->fingerprint = strdup(src->fingerprint)))
		goto oom;
	for (size_t i = 0; i < src->ncols; i++) {
		struct query_column *col = &dst->cols[dst->ncols++];
		*col = src->cols[i];
		col->name = strdup(src->cols[i].name);
		col->type = strdup(src->cols[i].type);
		if (!col->name || !col->type)
			goto oom;
	}
	return 0;
oom:
	query_table_free(dst);
	return -1;
}

static struct cache_entry *cache_find(const char *schema, const char *name)
{
	for (size_t i = 0; i < CATALOG_CACHE_MAX; i++)
		if (cache[i].fingerprint && strcmp(cache[i].t.schema, schema) == 0 &&
		    strcmp(cache[i].t.name, name) == 0)
			return &cache[i];
	return NULL;
}

/* Copies the cached description when its fingerprint still matches. */
static bool cache_get(const char *schema, const char *name, const char *fp, struct query_table *t)
{
	bool hit = false;
	pthread_mutex_lock(&cache_lock);
	struct cache_entry *e = cache_find(schema, name);
	if (e && strcmp(e->fingerprint, fp) == 0 && table_copy(t, &e->t) == 0) {
		e->used = ++cache_clock;
		hit = true;
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

/* Stores a copy of a fresh description, replacing the table's old one or
 * the least recently used. Failing to cache only costs speed. */
static void cache_put(const char *fp, const struct query_table *t)
{
	pthread_mutex_lock(&cache_lock);
	struct cache_entry *e = cache_find(t->schema, t->name);
	for (size_t i = 0; !e && i < CATALOG_CACHE_MAX; i++) /* a free slot, else the oldest */
		if (!cache[i].fingerprint) {
			e = &cache[i];
		} else if (i == CATALOG_CACHE_MAX - 1) {
			e = &cache[0];
			for (size_t j = 1; j < CATALOG_CACHE_MAX; j++)
				if (cache[j].used < e->used)
					e = &cache[j];
		}
	free(e->fingerprint);
	query_table_free(&e->t);
	e->fingerprint = strdup(fp);
	if (e->fingerprint && table_copy(&e->t, t) != 0) {
		free(e->fingerprint);
		e->fingerprint = NULL;
	}
	e->used = ++cache_clock;
	pthread_mutex_unlock(&cache_lock);
}

struct db_step query_catalog_fingerprint_step(const char *const params[2])
{
	return (struct db_step){.sql = fingerprint_sql, .nparams = 2, .params = params};
}

bool query_catalog_cached(const char *schema, const char *name, struct query_table *t)
{
	*t = (struct query_table){0};
	pthread_mutex_lock(&cache_lock);
	struct cache_entry *e = cache_find(schema, name);
	bool hit = e && table_copy(t, &e->t) == 0;
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

int query_catalog_found(PGconn *c, const char *schema, const char *name, const PGresult *fingerprint,
			struct query_table *t, PGresult **res)
{
	*t = (struct query_table){0};
	*res = NULL;
	if (PQntuples(fingerprint) == 0)
		return 0;
	const char *fp = PQgetvalue(fingerprint, 0, 0);
	if (cache_get(schema, name, fp, t))
		return 1;
	int found = describe(c, schema, name, t, res);
	if (found == 1 && !(t->fingerprint = strdup(fp))) {
		query_table_free(t);
		return -1;
	}
	if (found == 1)
		cache_put(fp, t);
	return found;
}

/* last_refresh: control.table_refresh (REFINED reports write it), else for
 * TRUSTED the merge time the layer runner keeps per source (tables are named
 * <system>_<object>). */
static const char list_sql[] =
	"SELECT json_build_object("
	" 'layer', n.nspname, 'name', c.relname,"
	" 'kind', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned_table'"
	"              WHEN 'v' THEN 'view' ELSE 'materialized_view' END,"
	" 'row_estimate', CASE"
	"     WHEN c.relkind = 'p' THEN (SELECT sum(p.reltuples)::bigint FROM pg_partition_tree(c.oid) pt"
	"                               JOIN pg_class p ON p.oid = pt.relid WHERE pt.isleaf AND p.reltuples >= 0)"
	"     WHEN c.relkind IN ('r', 'm') AND c.reltuples >= 0 THEN c.reltuples::bigint END,"
	" 'last_refresh', coalesce(r.refreshed_at, CASE WHEN n.nspname = 'trusted' THEN"
	"     (SELECT max(ls.trusted_refreshed_at) FROM control.layer_state ls"
	"      JOIN control.sources s ON s.id = ls.source_id WHERE s.system || '_' || s.object = c.relname) END),"
	" 'primary_key', coalesce((SELECT json_agg(a.attname ORDER BY k.ord)"
	"     FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord)"
	"     JOIN pg_attribute a ON a.attnum = k.attnum"
	"     WHERE i.indrelid = c.oid AND i.indisprimary AND a.attrelid = c.oid), '[]'),"
	" 'columns', coalesce((SELECT json_agg(json_build_object('name', a.attname,"
	"     'type', format_type(a.atttypid, a.atttypmod), 'nullable', NOT a.attnotnull) ORDER BY a.attnum)"
	"     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'))"
	" FROM pg_class c"
	" JOIN pg_namespace n ON n.oid = c.relnamespace"
	" LEFT JOIN control.table_refresh r ON r.layer = n.nspname AND r.table_name = c.relname"
	" WHERE n.nspname IN ('trusted', 'refined') AND ($1::text IS NULL OR n.nspname = $1)"
	"   AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition"
	"   AND has_schema_privilege('lake_reader', n.oid, 'USAGE')"
	"   AND has_table_privilege('lake_reader', c.oid, 'SELECT')"
	" ORDER BY n.nspname = 'refined', c.relname";

int query_catalog_list(PGconn *c, const char *layer, json_t **items, PGresult **res)
{
	const char *params[1] = {layer};
	*items = NULL;
	*res = PQexecParams(c, list_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(*res) != PGRES_TUPLES_OK)
		return -1;
	json_t *arr = json_array();
	for (int i = 0; arr && i < PQntuples(*res); i++) {
		json_t *one = json_loads(PQgetvalue(*res, i, 0), 0, NULL);
		if (!one || json_array_append_new(arr, one) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(*res);
	*res = NULL;
	if (!arr)
		return -1;
	*items = arr;
	return 0;
}
