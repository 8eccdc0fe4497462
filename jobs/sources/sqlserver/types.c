/* SQL Server types to default TRUSTED types (see types.h). Exact where
 * PostgreSQL can be: decimal keeps its precision and scale, money its four
 * places; date-times become timestamp (PostgreSQL keeps microseconds: the
 * 7th fraction digit stays in LAND and RAW), datetimeoffset timestamptz (the
 * instant; LAND keeps the offset). */
#include "jobs/sources/sqlserver/types.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct { const char *sql; const char *trusted; } fixed[] = {
	{"int", "integer"}, {"bigint", "bigint"}, {"smallint", "smallint"}, {"tinyint", "smallint"},
	{"bit", "boolean"}, {"money", "numeric(19,4)"}, {"smallmoney", "numeric(10,4)"},
	{"float", "double precision"}, {"real", "real"}, {"date", "date"}, {"time", "time"},
	{"datetime", "timestamp"}, {"smalldatetime", "timestamp"}, {"datetime2", "timestamp"},
	{"datetimeoffset", "timestamptz"}, {"char", "text"}, {"varchar", "text"}, {"nchar", "text"},
	{"nvarchar", "text"}, {"text", "text"}, {"ntext", "text"}, {"xml", "text"},
	{"uniqueidentifier", "uuid"}, {"binary", "bytea"}, {"varbinary", "bytea"}, {"image", "bytea"},
	{"timestamp", "bytea"}, {"rowversion", "bytea"}, {NULL, NULL},
};

const char *mssql_trusted_type(const char *data_type, long precision, long scale, char *buf, size_t len)
{
	if (!data_type)
		return NULL;
	if (!strcasecmp(data_type, "decimal") || !strcasecmp(data_type, "numeric")) {
		if (precision < 1 || precision > 38 || scale < 0 || scale > precision)
			snprintf(buf, len, "numeric");
		else
			snprintf(buf, len, "numeric(%ld,%ld)", precision, scale);
		return buf;
	}
	for (int i = 0; fixed[i].sql; i++)
		if (!strcasecmp(data_type, fixed[i].sql)) {
			snprintf(buf, len, "%s", fixed[i].trusted);
			return buf;
		}
	return NULL;
}
