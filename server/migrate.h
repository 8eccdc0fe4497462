/* Numbered SQL migrations (sql/migrations/NNNN_name.sql), applied at start:
 * each once, in its own transaction, recorded with a checksum in
 * control.schema_migrations. A recorded migration whose file changed is an
 * error: migrations are append-only. Concurrent servers serialise on an
 * advisory lock. */
#ifndef LAKE_MIGRATE_H
#define LAKE_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* Returns the number of migration files (all applied), or -1 with err set. */
int migrate_run(PGconn *conn, const char *dir, char *err, size_t errlen);
/* Number of migrations recorded in the database, -1 on error. */
int migrate_applied_count(PGconn *conn);

#endif
