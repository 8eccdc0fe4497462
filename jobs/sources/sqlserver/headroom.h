/* Change Tracking headroom of a SQL Server source (headroom.c). */
#ifndef LAKE_MSSQL_HEADROOM_H
#define LAKE_MSSQL_HEADROOM_H

#include "jobs/sources/kind.h"

int mssql_ct_headroom(json_t *source, struct ct_headroom *out, char *err, size_t errlen);

#endif
