/* Discovery of a SQL Server database (see discover.h). Every catalog read
 * is a single-view SELECT (the views are joined here, in C), so the same
 * statements work on SQL Server and on the test fixture. Each table comes
 * with a `definition`: the source to register for it (columns and key from
 * the catalog; incremental by change tracking when the table has it and a
 * one-column primary key, else a full load), which the caller completes
 * with a system and POSTs, one by one or all at once (/v1/sources/batch). */
#include "jobs/sources/sqlserver/discover.h"
#include "jobs/sources/sqlserver/conn.h"
#include "jobs/sources/sqlserver/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *col_text(struct mssql_conn *c, int col)
{
	return mssql_col_text(c, col, NULL);
}

typedef int (*row_fn)(struct mssql_conn *c, json_t *acc);

/* Runs a catalog query and calls fn for each row. */
static int each_row(struct mssql_conn *c, const char *sql, row_fn fn, json_t *acc, struct load_error *err,
		    const char *what)
{
	if (mssql_send(c, sql, err, what) != 0)
		return -1;
	int rc = mssql_next_result(c, err, what);
	while (rc == 1 && (rc = mssql_next_row(c, err, what)) == 1)
		if (fn(c, acc) != 0)
			return load_fail(err, JOB_TRANSIENT, "out of memory reading the catalog");
	if (rc < 0)
		return -1;
	return mssql_finish(c, err, what);
}

/* acc: {"schema.table": table object} */
static json_t *table_of(json_t *acc, const char *schema, const char *name)
{
	char key[600];
	snprintf(key, sizeof key, "%s.%s", schema ? schema : "", name ? name : "");
	return json_object_get(acc, key);
}

static int on_table(struct mssql_conn *c, json_t *acc)
{
	char *schema = col_text(c, 1), *name = col_text(c, 2), *type = col_text(c, 3);
	int rc = 0;
	if (schema && name && type && strcmp(type, "BASE TABLE") == 0) {
		char key[600];
		snprintf(key, sizeof key, "%s.%s", schema, name);
		rc = json_object_set_new(acc, key, json_pack("{s:s, s:s, s:[], s:[], s:b}", "schema", schema, "object",
							       name, "columns", "primary_key", "change_tracking", 0));
	}
	free(schema);
	free(name);
	free(type);
	return rc;
}

static int on_column(struct mssql_conn *c, json_t *acc)
{
	char *schema = col_text(c, 1), *table = col_text(c, 2), *name = col_text(c, 3), *dtype = col_text(c, 4);
	char *maxlen = col_text(c, 5), *prec = col_text(c, 6), *scale = col_text(c, 7), *nullable = col_text(c, 8);
	json_t *t = table_of(acc, schema, table);
	int rc = 0;
	if (t && name && dtype) {
		char shown[80], buf[64];
		const char *trusted = mssql_trusted_type(dtype, prec ? atol(prec) : -1, scale ? atol(scale) : -1, buf, sizeof buf);
		if ((!strcmp(dtype, "decimal") || !strcmp(dtype, "numeric")) && prec)
			snprintf(shown, sizeof shown, "%s(%s,%s)", dtype, prec, scale ? scale : "0");
		else if (maxlen && strcmp(maxlen, "-1") == 0)
			snprintf(shown, sizeof shown, "%s(max)", dtype);
		else if (maxlen && strstr(dtype, "char") == NULL && strstr(dtype, "binary") == NULL)
			snprintf(shown, sizeof shown, "%s", dtype);
		else if (maxlen)
			snprintf(shown, sizeof shown, "%s(%s)", dtype, maxlen);
		else
			snprintf(shown, sizeof shown, "%s", dtype);
		json_t *col = json_pack("{s:s, s:s, s:o, s:b}", "name", name, "source_type", shown, "type",
					trusted ? json_string(trusted) : json_null(), "nullable",
					nullable && strcmp(nullable, "YES") == 0);
		rc = json_array_append_new(json_object_get(t, "columns"), col);
	}
	free(schema);
	free(table);
	free(name);
	free(dtype);
	free(maxlen);
	free(prec);
	free(scale);
	free(nullable);
	return rc;
}

/* TABLE_CONSTRAINTS: the primary keys' names, as {"schema.constraint": true} under "_pk" */
static int on_constraint(struct mssql_conn *c, json_t *acc)
{
	char *schema = col_text(c, 1), *name = col_text(c, 2), *type = col_text(c, 3);
	int rc = 0;
	if (schema && name && type && strcmp(type, "PRIMARY KEY") == 0) {
		char key[600];
		snprintf(key, sizeof key, "%s.%s", schema, name);
		rc = json_object_set_new(json_object_get(acc, "\001pk"), key, json_true());
	}
	free(schema);
	free(name);
	free(type);
	return rc;
}

static int on_key_column(struct mssql_conn *c, json_t *acc)
{
	char *cschema = col_text(c, 1), *cname = col_text(c, 2), *schema = col_text(c, 3), *table = col_text(c, 4);
	char *column = col_text(c, 5);
	char key[600];
	snprintf(key, sizeof key, "%s.%s", cschema ? cschema : "", cname ? cname : "");
	json_t *t = table_of(acc, schema, table);
	int rc = 0;
	if (t && column && json_object_get(json_object_get(acc, "\001pk"), key))
		rc = json_array_append_new(json_object_get(t, "primary_key"), json_string(column));
	free(cschema);
	free(cname);
	free(schema);
	free(table);
	free(column);
	return rc;
}

static int on_ct_table(struct mssql_conn *c, json_t *acc)
{
	char *schema = col_text(c, 1), *table = col_text(c, 2), *min_valid = col_text(c, 3);
	json_t *t = table_of(acc, schema, table);
	int rc = 0;
	if (t) {
		rc = json_object_set_new(t, "change_tracking", json_true());
		if (min_valid)
			rc = rc || json_object_set_new(t, "min_valid_version", json_integer(atoll(min_valid)));
	}
	free(schema);
	free(table);
	free(min_valid);
	return rc;
}

static int on_ct_database(struct mssql_conn *c, json_t *acc)
{
	char *period = col_text(c, 1), *units = col_text(c, 2), *cleanup = col_text(c, 3);
	json_t *ct = json_pack("{s:b, s:o, s:o, s:o}", "enabled", 1, "retention_period",
			       period ? json_integer(atoll(period)) : json_null(), "retention_units",
			       units ? json_string(units) : json_null(), "auto_cleanup",
			       cleanup ? json_boolean(strcmp(cleanup, "1") == 0) : json_null());
	free(period);
	free(units);
	free(cleanup);
	return json_object_set_new(acc, "\001ct", ct);
}

/* The definition to register for a discovered table. */
static json_t *definition(json_t *t, const char *database)
{
	json_t *cols = json_array(), *pk = json_object_get(t, "primary_key");
	size_t i, k;
	json_t *c, *p;
	bool loadable = true;
	json_array_foreach(json_object_get(t, "columns"), i, c) {
		bool key = false;
		json_array_foreach(pk, k, p)
			key = key || json_equal(p, json_object_get(c, "name"));
		if (json_is_null(json_object_get(c, "type"))) {
			loadable = false;
			continue;
		}
		json_t *col = json_pack("{s:O, s:O}", "name", json_object_get(c, "name"), "type", json_object_get(c, "type"));
		if (key)
			json_object_set_new(col, "key", json_true());
		json_array_append_new(cols, col);
	}
	bool ct = json_is_true(json_object_get(t, "change_tracking")) && json_array_size(pk) == 1;
	json_t *d = json_pack("{s:s, s:s, s:O, s:O, s:s, s:s, s:o}", "source_type", "sqlserver", "database", database,
			      "schema", json_object_get(t, "schema"), "object", json_object_get(t, "object"), "load_type",
			      ct ? "incremental" : "full", "offset_mode", ct ? "change_tracking" : "none", "columns", cols);
	if (!loadable)
		json_object_set_new(t, "note", json_string("columns of types the lake does not load are left out of the definition"));
	return d;
}

int mssql_discover(const char *secret_ref, const char *schema, json_t **out, struct load_error *err)
{
	struct mssql_conn c;
	json_t *acc = json_pack("{s:{}}", "\001pk");
	char *database = NULL, *snapshot = NULL, *filter = NULL, sql[700];
	int rc = -1;
	*out = NULL;
	if (mssql_connect(&c, secret_ref, NULL, NULL, err) != 0)
		goto out;
	if (schema && !(filter = mssql_quote_string(schema))) {
		load_fail(err, JOB_TRANSIENT, "out of memory");
		goto out;
	}
#define WHERE_SCHEMA(col) (filter ? " WHERE " col " = " : ""), (filter ? filter : "")
	if (mssql_value(&c, "SELECT DB_NAME()", &database, err, "catalog") != 0 ||
	    mssql_value(&c, "SELECT snapshot_isolation_state FROM sys.databases WHERE name = DB_NAME()", &snapshot, err,
			"catalog") != 0)
		goto out;
	snprintf(sql, sizeof sql, "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES%s%s",
		 WHERE_SCHEMA("TABLE_SCHEMA"));
	if (each_row(&c, sql, on_table, acc, err, "catalog (tables)") != 0)
		goto out;
	snprintf(sql, sizeof sql, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, "
		 "NUMERIC_PRECISION, NUMERIC_SCALE, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS%s%s ORDER BY ORDINAL_POSITION",
		 WHERE_SCHEMA("TABLE_SCHEMA"));
	if (each_row(&c, sql, on_column, acc, err, "catalog (columns)") != 0)
		goto out;
	snprintf(sql, sizeof sql, "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM "
		 "INFORMATION_SCHEMA.TABLE_CONSTRAINTS%s%s", WHERE_SCHEMA("TABLE_SCHEMA"));
	if (each_row(&c, sql, on_constraint, acc, err, "catalog (keys)") != 0)
		goto out;
	snprintf(sql, sizeof sql, "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM "
		 "INFORMATION_SCHEMA.KEY_COLUMN_USAGE%s%s ORDER BY ORDINAL_POSITION", WHERE_SCHEMA("TABLE_SCHEMA"));
	if (each_row(&c, sql, on_key_column, acc, err, "catalog (key columns)") != 0)
		goto out;
	if (each_row(&c, "SELECT OBJECT_SCHEMA_NAME(object_id), OBJECT_NAME(object_id), min_valid_version FROM "
		     "sys.change_tracking_tables", on_ct_table, acc, err, "catalog (change tracking)") != 0 ||
	    each_row(&c, "SELECT retention_period, retention_period_units_desc, is_auto_cleanup_on FROM "
		     "sys.change_tracking_databases WHERE database_id = DB_ID()", on_ct_database, acc, err,
		     "catalog (change tracking)") != 0)
		goto out;
#undef WHERE_SCHEMA

	json_t *tables = json_array();
	const char *key;
	json_t *t;
	json_object_foreach(acc, key, t) {
		if (key[0] == '\001')
			continue;
		json_object_set_new(t, "definition", definition(t, database ? database : ""));
		json_array_append(tables, t);
	}
	json_t *ct = json_object_get(acc, "\001ct");
	*out = json_pack("{s:s, s:s, s:b, s:o, s:o}", "source_type", "sqlserver", "database", database ? database : "",
			 "snapshot_isolation", snapshot && strcmp(snapshot, "1") == 0, "change_tracking",
			 ct ? json_incref(ct) : json_pack("{s:b}", "enabled", 0), "tables", tables);
	rc = 0;
out:
	mssql_close(&c);
	json_decref(acc);
	free(database);
	free(snapshot);
	free(filter);
	return rc;
}
