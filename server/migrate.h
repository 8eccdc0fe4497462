/* The lake's SQL, applied at start (sql/README.md says the rule):
 * numbered migrations (sql/migrations/NNNN_name.sql) each once, in its own
 * transaction, recorded with a checksum in control.schema_migrations — a
 * recorded migration whose file changed is an error, migrations are
 * append-only —; then the function files (sql/functions/<schema>.<name>.sql), applied
 * again whenever their text changed. Concurrent servers serialise on an
 * advisory lock. */
#ifndef LAKE_MIGRATE_H
#define LAKE_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* `sql_dir` holds migrations/ and functions/. Returns the number of
 * numbered migrations (all applied), or -1 with err set. */
int migrate_run(PGconn *conn, const char *sql_dir, char *err, size_t errlen);
/* Number of numbered migrations recorded in the database, -1 on error. */
int migrate_applied_count(PGconn *conn);

#endif
