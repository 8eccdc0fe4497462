/* DDL and COPY for LAND. Names come from the validated source definition
 * and are quoted with PQescapeIdentifier. */
#include "jobs/layers/land.h"
#include "jobs/job.h"
#include "lib/dynbuf.h"
#include "lib/sqlident.h"
#include "lib/db.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int land_prepare(PGconn *lake, json_t *source, long long job_id, char *table, size_t tablelen, char *err,
		 size_t errlen)
{
	char name[160], part[160], parent[200], sql_buf[2048];
	job_lake_table(source, name, sizeof name);
	/* the job id first, so PostgreSQL's 63-byte cut can never make two alike */
	snprintf(part, sizeof part, "j%lld_%.120s", job_id, name);
	char *qname = sqlident_quote(lake, name), *qpart = sqlident_quote(lake, part);
	struct dynbuf sql = {0};
	int rc = -1;
	if (!qname || !qpart) {
		snprintf(err, errlen, "cannot quote %s", name);
		goto out;
	}
	snprintf(parent, sizeof parent, "land.%s", qname);
	snprintf(table, tablelen, "land.%s", qpart);

	dynbuf_printf(&sql, "CREATE TABLE IF NOT EXISTS %s (", parent);
	size_t i;
	json_t *col;
	json_array_foreach(json_object_get(source, "columns"), i, col) {
		char *q = sqlident_quote(lake, json_string_value(json_object_get(col, "name")));
		if (!q)
			sql.failed = true;
		else
			dynbuf_printf(&sql, "%s text, ", q);
		free(q);
	}
	dynbuf_addstr(&sql, "sys_change_version bigint, sys_change_operation char(1), _job_id bigint NOT NULL, "
		      "_partitiontime timestamptz NOT NULL) PARTITION BY LIST (_job_id)");
	if (sql.failed) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (db_exec(lake, "SET LOCAL client_min_messages = warning", err, errlen) != 0 ||
	    db_exec(lake, sql.data, err, errlen) != 0)
		goto out;

	/* Columns added to the source definition since the table was made;
	 * only those: an ALTER TABLE locks the table whole, waiting for anyone
	 * reading LAND even when the column is there. */
	json_t *names = json_array();
	json_array_foreach(json_object_get(source, "columns"), i, col)
		json_array_append(names, json_object_get(col, "name"));
	char *names_s = json_dumps(names, JSON_COMPACT);
	json_decref(names);
	if (!names_s) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	const char *params[2] = {parent, names_s};
	PGresult *missing = PQexecParams(lake, "SELECT n FROM jsonb_array_elements_text($2::jsonb) n WHERE NOT EXISTS "
					       "(SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = n "
					       "AND NOT attisdropped)", 2, NULL, params, NULL, NULL, 0);
	free(names_s);
	if (PQresultStatus(missing) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(missing));
		PQclear(missing);
		goto out;
	}
	for (int r = 0; r < PQntuples(missing); r++) {
		char *q = sqlident_quote(lake, PQgetvalue(missing, r, 0));
		snprintf(sql_buf, sizeof sql_buf, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s text", parent, q ? q : "\"?\"");
		free(q);
		if (db_exec(lake, sql_buf, err, errlen) != 0) {
			PQclear(missing);
			goto out;
		}
	}
	PQclear(missing);
	/* This load's partition; its defaults are this load's constants
	 * (literals: an expression would be evaluated for every row). Its CHECK
	 * constraints state what RAW's partitions require (the load's UTC day,
	 * the job), so RAW attaches it without scanning it (raw_append). */
	PGresult *day = PQexec(lake, "SELECT d::text, (d + interval '1 day')::text "
				     "FROM (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS d) x");
	if (PQresultStatus(day) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(day));
		PQclear(day);
		goto out;
	}
	char *from = PQescapeLiteral(lake, PQgetvalue(day, 0, 0), strlen(PQgetvalue(day, 0, 0)));
	char *to = PQescapeLiteral(lake, PQgetvalue(day, 0, 1), strlen(PQgetvalue(day, 0, 1)));
	PQclear(day);
	if (!from || !to) {
		PQfreemem(from);
		PQfreemem(to);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(sql_buf, sizeof sql_buf,
		 "CREATE TABLE %s PARTITION OF %s (CHECK (_job_id = %lld), "
		 "CHECK (_partitiontime >= %s::timestamptz AND _partitiontime < %s::timestamptz)) "
		 "FOR VALUES IN (%lld); "
		 "ALTER TABLE %s ALTER COLUMN _job_id SET DEFAULT %lld, ALTER COLUMN _partitiontime "
		 "SET DEFAULT %s::timestamptz",
		 table, parent, job_id, from, to, job_id, table, job_id, from);
	PQfreemem(from);
	PQfreemem(to);
	if (db_exec(lake, sql_buf, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	dynbuf_free(&sql);
	free(qname);
	free(qpart);
	return rc;
}

int land_copy_begin(PGconn *lake, json_t *source, const char *table, char *err, size_t errlen)
{
	return land_copy_begin_extra(lake, source, table, "", err, errlen);
}

int land_add_column(PGconn *lake, const char *table, const char *column, const char *type, char *err,
		    size_t errlen)
{
	/* a partition cannot gain a column alone: add it to the partition root */
	const char *params[3] = {table, column, type};
	PGresult *r = PQexecParams(lake, "SELECT layers.land_add_column($1::regclass, $2, $3)", 3, NULL, params,
				   NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
	if (rc) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = 0;
	}
	PQclear(r);
	return rc;
}

int land_copy_begin_extra(PGconn *lake, json_t *source, const char *table, const char *extra, char *err,
			  size_t errlen)
{
	struct dynbuf sql = {0};
	dynbuf_printf(&sql, "COPY %s (", table);
	size_t i;
	json_t *col;
	json_array_foreach(json_object_get(source, "columns"), i, col) {
		char *q = sqlident_quote(lake, json_string_value(json_object_get(col, "name")));
		if (!q)
			sql.failed = true;
		else
			dynbuf_printf(&sql, "%s, ", q);
		free(q);
	}
	/* FREEZE: the partition was made in this transaction, so its rows can be
	 * written frozen (no later hint-bit or freeze rewrite of the whole load) */
	dynbuf_printf(&sql, "sys_change_version, sys_change_operation%s) FROM STDIN (FREEZE)", extra);
	if (sql.failed) {
		dynbuf_free(&sql);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	PGresult *r = PQexec(lake, sql.data);
	dynbuf_free(&sql);
	int rc = PQresultStatus(r) == PGRES_COPY_IN ? 0 : -1;
	if (rc) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = 0;
	}
	PQclear(r);
	return rc;
}

int land_copy_end(PGconn *lake, const char *abort_reason, long long *rows, char *err, size_t errlen)
{
	*rows = 0;
	if (PQputCopyEnd(lake, abort_reason) != 1) {
		snprintf(err, errlen, "%s", PQerrorMessage(lake));
		return -1;
	}
	int rc = 0;
	PGresult *r;
	while ((r = PQgetResult(lake))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !abort_reason) {
			snprintf(err, errlen, "%s", PQresultErrorMessage(r));
			err[strcspn(err, "\n")] = 0;
			rc = -1;
		} else if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			*rows = atoll(PQcmdTuples(r));
		}
		PQclear(r);
	}
	return abort_reason ? -1 : rc;
}
