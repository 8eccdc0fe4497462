/* Discovery of a SQL Server database (the kind table's .discover): its
 * tables with their columns (types mapped to TRUSTED types), primary keys,
 * whether Change Tracking is on for each and the database's retention and
 * snapshot isolation, read from INFORMATION_SCHEMA and the sys views. */
#ifndef LAKE_MSSQL_DISCOVER_H
#define LAKE_MSSQL_DISCOVER_H

#include "jobs/job.h"

#include <jansson.h>

int mssql_discover(const char *secret_ref, const char *schema, json_t **out, struct load_error *err);

#endif
