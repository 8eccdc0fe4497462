/* A connection to a SQL Server through FreeTDS' db-lib, and the form of its
 * secret.
 *
 * The secret (the value behind connection_secret's env: or file:
 * reference) is one URL:
 *   sqlserver://USER:PASSWORD@HOST[:PORT]/DATABASE[?packet_size=N&login_timeout=S&query_timeout=S]
 * USER, PASSWORD and DATABASE percent-encoded where they hold reserved
 * characters (@ : / ? # % &). PORT defaults to 1433. A source's options of
 * the same names win over the URL's.
 *
 * Nothing of the secret, and no text FreeTDS prints, reaches a job error, a
 * log line or an answer: our own db-lib error and message handlers record
 * what failed, and the errors are written in our words (server messages
 * keep their number and text with the secret's parts blotted out). */
#ifndef LAKE_MSSQL_CONN_H
#define LAKE_MSSQL_CONN_H

#include "jobs/job.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define MSSQL_DEFAULT_PORT 1433
#define MSSQL_DEFAULT_PACKET 4096 /* the fastest in bench/sqlserver_load.sh (bench/README.md) */
#define MSSQL_DEFAULT_LOGIN_TIMEOUT 15
#define MSSQL_DEFAULT_QUERY_TIMEOUT 600

struct mssql_url {
	char *host, *user, *password, *database; /* malloc'd */
	int port;
	int packet_size, login_timeout, query_timeout; /* -1 = not given */
};

/* Parses a secret; 0, or -1 with a message that quotes none of it. */
int mssql_url_parse(const char *text, struct mssql_url *u, char *err, size_t errlen);
/* Frees the parts, wiping the password first. */
void mssql_url_free(struct mssql_url *u);

struct mssql_conn {
	void *dbproc;                /* DBPROCESS * */
	struct worker_slot *w;       /* the job's slot (cancel), or NULL */
	int query_timeout;           /* seconds without an answer; 0 = none */
	int idle_seconds;            /* counted by the interrupt check, reset per row */
	bool timed_out;
	bool in_rows;                /* a result set's rows are being read */
	atomic_bool interrupted;     /* set from the supervisor thread */
	/* the first failure of the current statement, from the handlers */
	int server_error;            /* SQL Server's message number (severity > 10), 0 = none */
	int client_error;            /* db-lib's error number, 0 = none */
	char message[512];           /* the server's text, secret parts blotted out */
	char *secret_parts[4];       /* user, password, host, database: never shown */
};

/* Resolves `ref`, parses it and logs in (TDS 7.4, UTF-8, packet size,
 * login timeout, TEXTSIZE for whole (max) values). `options` (may be NULL)
 * override the URL's settings. With `w`, the job's cancel interrupts the
 * connection's statements (an attention within about a second). */
int mssql_connect(struct mssql_conn *c, const char *ref, json_t *options, struct worker_slot *w,
		  struct load_error *err);
void mssql_close(struct mssql_conn *c);

/* Sends a batch; its result sets are then read with mssql_next_result and
 * mssql_next_row, or thrown away by mssql_finish. 0 or -1 with err. */
int mssql_send(struct mssql_conn *c, const char *sql, struct load_error *err, const char *what);
/* 1 = a result set with columns is ready, 0 = no more results, -1 = failed. */
int mssql_next_result(struct mssql_conn *c, struct load_error *err, const char *what);
/* 1 = a row, 0 = the result set ended, -1 = failed (err set). */
int mssql_next_row(struct mssql_conn *c, struct load_error *err, const char *what);
/* Reads and drops what is left of the batch; -1 with err if it failed. */
int mssql_finish(struct mssql_conn *c, struct load_error *err, const char *what);
/* Stops the batch in flight (an attention) and drops its results; on the
 * connection's own thread. */
void mssql_cancel(struct mssql_conn *c);
/* Runs a batch, ignoring any rows. */
int mssql_exec(struct mssql_conn *c, const char *sql, struct load_error *err, const char *what);
/* Runs a batch whose first result is one value: *out is its text
 * (mssql_col_text, malloc'd) or NULL for SQL NULL or no row. */
int mssql_value(struct mssql_conn *c, const char *sql, char **out, struct load_error *err, const char *what);

/* The current row's column `col` (1-based): db-lib type, data (NULL for
 * NULL) and length. */
int mssql_ncols(struct mssql_conn *c);
void mssql_col(struct mssql_conn *c, int col, int *type, const unsigned char **data, size_t *len);
const char *mssql_col_name(struct mssql_conn *c, int col);
/* Column `col` of the current row as plain text (the LAND text without
 * COPY's escapes), malloc'd; NULL for NULL, or with *failed (may be NULL)
 * set for a value the formatter refused. */
char *mssql_col_text(struct mssql_conn *c, int col, bool *failed);

/* Fails the job with our words for what the connection recorded. */
int mssql_fail(struct mssql_conn *c, struct load_error *err, const char *what);

/* T-SQL quoting: [name] with ] doubled, N'text' with ' doubled. */
char *mssql_quote_ident(const char *name);
char *mssql_quote_string(const char *text);

#endif
