/* The lake connection pool and small libpq helpers.
 *
 * Connections are opened lazily up to the pool size and checked on release
 * (a broken one is closed, one left inside a transaction is rolled back)
 * and again when handed out: one the lake closed while it was idle (a
 * restart) is dropped, never lent.
 * Every session runs with TimeZone=UTC so timestamps serialise the same
 * everywhere. */
#ifndef LAKE_DB_H
#define LAKE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct db_pool;

/* Opens one connection (TimeZone UTC, application_name set). On failure
 * `err` says what failed in our words, never libpq's text (which may quote
 * the connection string). */
PGconn *db_connect(const char *url, const char *app_name, char *err, size_t errlen);

struct db_pool *db_pool_open(const char *url, int size);
/* Waits up to timeout_ms for a connection; NULL if none could be had. */
PGconn *db_acquire(struct db_pool *pool, int timeout_ms);
void db_release(struct db_pool *pool, PGconn *conn);
void db_pool_close(struct db_pool *pool);

/* SQLSTATE of a failed result, "" if none. */
const char *db_sqlstate(const PGresult *res);
/* true for errors worth retrying: connection lost, server starting or
 * shutting down, serialization failures, deadlocks. */
bool db_error_transient(const char *sqlstate, const PGconn *conn);
/* Runs a command without parameters; returns 0 or -1 (message in err). */
int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

#endif
