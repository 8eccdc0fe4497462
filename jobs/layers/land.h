/* LAND tables: land.<system>_<object>, every source column as text plus
 * sys_change_version, sys_change_operation, _job_id and _partitiontime,
 * partitioned by job: each load writes its own partition land."j<id>_<name>",
 * made in the load's transaction. So a load's rows are found without an
 * index, COPY can FREEZE them, _job_id and _partitiontime are constant
 * column defaults of the partition (extractors COPY source bytes straight
 * through), and old loads can be dropped a partition at a time. */
#ifndef LAKE_LAND_H
#define LAKE_LAND_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* Creates the LAND table if needed, adds columns the source gained and makes
 * job `job_id`'s partition. Writes the partition's quoted name into `table`:
 * the COPY target. Runs in the caller's transaction. */
int land_prepare(PGconn *lake, json_t *source, long long job_id, char *table, size_t tablelen, char *err,
		 size_t errlen);

/* Starts COPY ... FROM STDIN into `table` with the source columns plus the
 * change-tracking pair, in that order. */
int land_copy_begin(PGconn *lake, json_t *source, const char *table, char *err, size_t errlen);
/* The same with more columns after the change-tracking pair; `extra` is a
 * list of already quoted names like ", _record, _file" (may be ""). */
int land_copy_begin_extra(PGconn *lake, json_t *source, const char *table, const char *extra, char *err,
			  size_t errlen);
/* Adds a lake-owned column (name starting with '_') to the LAND table that
 * `table` (a job partition or the table itself) belongs to, if it lacks it. */
int land_add_column(PGconn *lake, const char *table, const char *column, const char *type, char *err,
		    size_t errlen);
/* Ends the COPY; *rows gets the count PostgreSQL reports. With
 * `abort_reason` the COPY is abandoned instead (returns -1). */
int land_copy_end(PGconn *lake, const char *abort_reason, long long *rows, char *err, size_t errlen);


#endif
