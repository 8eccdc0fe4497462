/* SQL Server column types (INFORMATION_SCHEMA.COLUMNS.DATA_TYPE with its
 * length, precision and scale) to the TRUSTED type a discovered source
 * gets by default. The table is in this folder's README. */
#ifndef LAKE_MSSQL_TYPES_H
#define LAKE_MSSQL_TYPES_H

#include <stddef.h>

/* Writes the TRUSTED type into buf and returns buf, or NULL for a type the
 * lake does not load (sql_variant, geography, hierarchyid...).
 * precision/scale: -1 when absent. */
const char *mssql_trusted_type(const char *data_type, long precision, long scale, char *buf, size_t len);

#endif
