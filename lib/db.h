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

/* For functions whose failure must not pass unnoticed (PgBouncer's
 * _MUSTCHECK): the compiler refuses a call that drops the result. */
#define MUSTCHECK __attribute__((warn_unused_result))

struct db_pool;

/* Opens one connection (TimeZone UTC, application_name set). On failure
 * `err` says what failed in our words, never libpq's text (which may quote
 * the connection string). */
PGconn *db_connect(const char *url, const char *app_name, char *err, size_t errlen);

/* A pool of up to `size` connections to url, opened lazily, named app_name
 * (application_name). The connection released last is lent first: its
 * session's caches are the warmest. */
struct db_pool *db_pool_open(const char *url, int size, const char *app_name);
/* Waits up to timeout_ms for a connection; NULL if none could be had. */
PGconn *db_acquire(struct db_pool *pool, int timeout_ms);
void db_release(struct db_pool *pool, PGconn *conn);
void db_pool_close(struct db_pool *pool);
/* The pool's size, its open connections and how many of them are idle
 * (open - idle are lent out), for /metrics. */
void db_pool_stats(struct db_pool *pool, int *size, int *open, int *idle);

/* One statement of a pipeline: `sql` with text parameters; or, with `name`,
 * the prepared statement of that name executed (`prepare` false) or `sql`
 * prepared under that name (`prepare` true). */
struct db_step {
	const char *sql;
	const char *name;
	bool prepare;
	int nparams;
	const char *const *params;
};

/* Sends the steps in one pipeline (libpq's pipeline mode: one round trip
 * for all of them) and reads every result. out[i] is step i's result when
 * it succeeded, else NULL (the caller PQclears each; `out` may be NULL to
 * drop them). Returns NULL when every step succeeded, or the first failed
 * result (the caller PQclears it). The steps after a failed one are not
 * run; inside a transaction block it is left aborted. Meant for a few
 * statements whose results are small until the last (every step is sent
 * before any result is read). */
PGresult *db_pipeline(PGconn *conn, const struct db_step *steps, int n, PGresult **out);

/* SQLSTATE of a failed result, "" if none. */
const char *db_sqlstate(const PGresult *res);
/* true for errors worth retrying: connection lost, server starting or
 * shutting down, serialization failures, deadlocks, a cancelled statement
 * or a lock timeout, no disk or memory left. */
bool db_error_transient(const char *sqlstate, const PGconn *conn);
/* The SQLSTATE of this thread's last statement that failed in db_exec,
 * db_exec_params or db_commit ("" when it had none: the connection broke);
 * code that runs its own statements records theirs with
 * db_remember_failure. */
const char *db_last_sqlstate(void);
void db_remember_failure(const PGresult *res);
/* Runs a command without parameters; returns 0 or -1 (message in err). */
int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen) MUSTCHECK;
/* Runs a command with text parameters, result discarded; 0 or -1 (err). */
int db_exec_params(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
		   size_t errlen) MUSTCHECK;
/* Commits, and fails unless PostgreSQL really committed: a transaction in
 * which a statement failed answers COMMIT with the tag ROLLBACK and no
 * error (libpq reports PGRES_COMMAND_OK), which db_exec would take for
 * success. The only way the code commits. */
int db_commit(PGconn *conn, char *err, size_t errlen) MUSTCHECK;
/* Rolls back the open transaction, if any; for cleanup paths, which have
 * nothing better to do with a failure (a broken connection is dropped by
 * its owner). */
void db_rollback(PGconn *conn);

#endif
