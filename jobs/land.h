/* LAND tables: land.<system>_<object>, every source column as text plus
 * sys_change_version, sys_change_operation, _job_id and _partitiontime. The
 * last two default to the settings the runner puts in the load's
 * transaction, so extractors can COPY source bytes straight through. */
#ifndef LAKE_LAND_H
#define LAKE_LAND_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* Creates the LAND table if needed and adds columns the source gained.
 * Writes the quoted table name into `table`. Runs in the caller's transaction. */
int land_prepare(PGconn *lake, json_t *source, char *table, size_t tablelen, char *err, size_t errlen);

/* Starts COPY ... FROM STDIN into `table` with the source columns plus the
 * change-tracking pair, in that order. */
int land_copy_begin(PGconn *lake, json_t *source, const char *table, char *err, size_t errlen);
/* The same with more columns after the change-tracking pair; `extra` is a
 * list of already quoted names like ", _record, _file" (may be ""). */
int land_copy_begin_extra(PGconn *lake, json_t *source, const char *table, const char *extra, char *err,
			  size_t errlen);
/* Adds a lake-owned column (name starting with '_') if the table lacks it. */
int land_add_column(PGconn *lake, const char *table, const char *column, const char *type, char *err,
		    size_t errlen);
/* Ends the COPY; *rows gets the count PostgreSQL reports. With
 * `abort_reason` the COPY is abandoned instead (returns -1). */
int land_copy_end(PGconn *lake, const char *abort_reason, long long *rows, char *err, size_t errlen);

/* Quotes an identifier that was already validated (PQescapeIdentifier);
 * returns a malloc'd string. */
char *land_quote(PGconn *c, const char *ident);

#endif
