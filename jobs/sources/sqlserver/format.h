/* SQL Server values to LAND text: each native value FreeTDS' db-lib hands
 * over (dbcoltype, dbdata, dbdatlen) becomes the exact text LAND keeps,
 * already escaped for COPY's text format. Every digit of a decimal, every
 * 100 ns of a time, every byte of a binary is kept; dates and times are
 * ISO 8601. The table of types is in jobs/sources/sqlserver/README.md. */
#ifndef LAKE_MSSQL_FORMAT_H
#define LAKE_MSSQL_FORMAT_H

#include "lib/dynbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* db-lib's type numbers that sybdb.h does not name (FreeTDS' own). */
#define MSSQL_TYPE_GUID 36 /* SYBUNIQUE */

enum mssql_format_rc {
	MSSQL_FMT_OK = 0,
	MSSQL_FMT_NOMEM = -1,      /* the buffer failed (memory or its cap) */
	MSSQL_FMT_UNKNOWN = -2,    /* a type this formatter does not know */
	MSSQL_FMT_NUL = -3,        /* text holding a NUL character: COPY cannot carry it */
	MSSQL_FMT_BAD = -4,        /* a value of impossible length for its type */
};

/* Appends the COPY text of one value of db-lib type `type` (`data` NULL
 * means SQL NULL, written as \N). */
int mssql_format(struct dynbuf *out, int type, const unsigned char *data, size_t len);

/* The calendar date of `days` after 1900-01-01 (negative: before). */
void mssql_civil_from_days(long long days, int *y, int *m, int *d);

#endif
