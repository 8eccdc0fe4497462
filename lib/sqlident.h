/* Plain SQL identifiers: what we accept from users as table, schema and
 * column names before they are ever quoted into SQL. */
#ifndef LAKE_SQLIDENT_H
#define LAKE_SQLIDENT_H

#include <libpq-fe.h>
#include <stdbool.h>

#define SQLIDENT_MAX 63

/* [A-Za-z_][A-Za-z0-9_]*, at most 63 bytes (PostgreSQL's NAMEDATALEN - 1). */
bool sqlident_valid(const char *s);

/* `ident` quoted as an SQL identifier by libpq (which also checks its
 * encoding); malloc'd, NULL when it cannot be. The one quoter. */
char *sqlident_quote(PGconn *c, const char *ident);

#endif
