/* A fixed-size pool of lake connections guarded by one mutex and condition. */
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	char *url;
	char *app_name;  /* application_name of its connections */
	int size;
	int open;        /* connections that exist, idle or lent */
	int idle_count;
	PGconn **idle;
};

/* libpq's text for a failed connection may quote the connection string (a
 * malformed URI with its password, a whole secret taken as the database
 * name): only these words of ours leave this file. */
static const char *connect_failure_words(const char *libpq)
{
	if (strncmp(libpq, "invalid", 7) == 0 || strstr(libpq, "missing \"=\"") || strstr(libpq, "invalid URI") ||
	    strstr(libpq, "unterminated quoted string") || strstr(libpq, "invalid connection option") ||
	    strstr(libpq, "invalid percent-encoded"))
		return "the connection string is malformed";
	if (strstr(libpq, "authentication failed") || strstr(libpq, "no password supplied"))
		return "authentication failed (user or password refused)";
	if (strstr(libpq, "no pg_hba.conf entry"))
		return "the server's pg_hba.conf does not allow this connection";
	if (strstr(libpq, "does not exist"))
		return "the database or role does not exist";
	if (strstr(libpq, "timeout expired"))
		return "the connection attempt timed out";
	if (strstr(libpq, "could not translate host name"))
		return "the host name cannot be resolved";
	if (strstr(libpq, "the database system is starting up") || strstr(libpq, "shutting down"))
		return "the server is starting up or shutting down";
	if (strstr(libpq, "too many clients") || strstr(libpq, "remaining connection slots"))
		return "the server has no free connection slot";
	return "the server cannot be reached (refused, no such socket, or closed the connection)";
}

PGconn *db_connect(const char *url, const char *app_name, char *err, size_t errlen)
{
	const char *keys[] = {"dbname", "application_name", "options", "connect_timeout", NULL};
	const char *vals[] = {url, app_name, "-c TimeZone=UTC -c statement_timeout=0", "10", NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);

	if (!conn) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", connect_failure_words(PQerrorMessage(conn)));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

struct db_pool *db_pool_open(const char *url, int size, const char *app_name)
{
	struct db_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->url = strdup(url);
	p->app_name = strdup(app_name);
	p->idle = calloc((size_t)size, sizeof *p->idle);
	if (!p->url || !p->app_name || !p->idle) {
		free(p->url);
		free(p->app_name);
		free(p->idle);
		free(p);
		return NULL;
	}
	p->size = size;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	return p;
}

/* An idle connection has nothing to read unless the server said goodbye
 * (a restart terminates every session with a FATAL message and closes the
 * socket) or sent a notice. One poll(2) without waiting tells: a readable
 * socket is read, and the connection is kept only if it is still fine. */
static bool idle_conn_alive(PGconn *c)
{
	if (PQstatus(c) != CONNECTION_OK)
		return false;
	struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
	int r = poll(&pfd, 1, 0);
	if (r == 0)
		return true;
	if (r < 0 || (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return false;
	return PQconsumeInput(c) == 1 && PQstatus(c) == CONNECTION_OK && !PQisBusy(c);
}

PGconn *db_acquire(struct db_pool *p, int timeout_ms)
{
	struct timespec deadline;
	util_deadline_ms(&deadline, timeout_ms);

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (p->idle_count > 0) {
			PGconn *c = p->idle[--p->idle_count];
			if (idle_conn_alive(c)) {
				pthread_mutex_unlock(&p->lock);
				return c;
			}
			/* the lake restarted or closed it: drop it and look again */
			PQfinish(c);
			p->open--;
			continue;
		}
		if (p->open < p->size) {
			p->open++;
			pthread_mutex_unlock(&p->lock);
			char err[512];
			PGconn *c = db_connect(p->url, p->app_name, err, sizeof err);
			if (c)
				return c;
			log_json(LOG_ERROR, "lake connection failed", json_pack("{s:s}", "error", err));
			pthread_mutex_lock(&p->lock);
			p->open--;
			pthread_cond_signal(&p->freed);
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		if (pthread_cond_timedwait(&p->freed, &p->lock, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
	}
}

void db_release(struct db_pool *p, PGconn *c)
{
	if (!c)
		return;
	if (PQstatus(c) == CONNECTION_OK && PQpipelineStatus(c) == PQ_PIPELINE_OFF)
		db_rollback(c);
	bool broken = PQstatus(c) != CONNECTION_OK || PQpipelineStatus(c) != PQ_PIPELINE_OFF ||
		      PQtransactionStatus(c) != PQTRANS_IDLE;
	if (broken)
		PQfinish(c);

	pthread_mutex_lock(&p->lock);
	if (broken)
		p->open--;
	else
		p->idle[p->idle_count++] = c;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

void db_pool_stats(struct db_pool *p, int *size, int *open, int *idle)
{
	pthread_mutex_lock(&p->lock);
	*size = p->size;
	*open = p->open;
	*idle = p->idle_count;
	pthread_mutex_unlock(&p->lock);
}

void db_pool_close(struct db_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->idle_count; i++)
		PQfinish(p->idle[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p->idle);
	free(p->url);
	free(p->app_name);
	free(p);
}

static bool send_step(PGconn *c, const struct db_step *st)
{
	if (st->name && st->prepare)
		return PQsendPrepare(c, st->name, st->sql, st->nparams, NULL);
	if (st->name)
		return PQsendQueryPrepared(c, st->name, st->nparams, st->params, NULL, NULL, 0);
	return PQsendQueryParams(c, st->sql, st->nparams, NULL, st->params, NULL, NULL, 0);
}

/* A step's result: its first, the rest (none are expected) dropped. */
static PGresult *step_result(PGconn *c)
{
	PGresult *r = PQgetResult(c), *extra;
	while (r && (extra = PQgetResult(c)))
		PQclear(extra);
	return r;
}

PGresult *db_pipeline(PGconn *c, const struct db_step *steps, int n, PGresult **out)
{
	PGresult *failed = NULL;
	int sent = 0;
	for (int i = 0; out && i < n; i++)
		out[i] = NULL;
	if (!PQenterPipelineMode(c))
		return PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	while (sent < n && send_step(c, &steps[sent]))
		sent++;
	bool synced = PQpipelineSync(c);
	if (sent < n)
		failed = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	for (int i = 0; i < sent; i++) {
		PGresult *r = step_result(c);
		ExecStatusType st = PQresultStatus(r);
		bool ok = r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
		if (!ok && !failed) {
			failed = r ? r : PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
			continue;
		}
		if (ok && out)
			out[i] = r;
		else
			PQclear(r);
		if (!r)
			break; /* the connection went away: nothing more will come */
	}
	PGresult *sync = synced ? PQgetResult(c) : NULL;
	bool in_sync = PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
	PQclear(sync);
	if (!(in_sync && PQexitPipelineMode(c)) && !failed)
		failed = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR); /* db_release drops such a connection */
	return failed;
}

const char *db_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

bool db_error_transient(const char *sqlstate, const PGconn *conn)
{
	if (conn && PQstatus(conn) != CONNECTION_OK)
		return true;
	if (!sqlstate || !*sqlstate)
		return true; /* no SQLSTATE: the connection went away mid-command */
	return strncmp(sqlstate, "08", 2) == 0 ||   /* connection exception */
	       strncmp(sqlstate, "53", 2) == 0 ||   /* insufficient resources: disk full, out of memory */
	       strcmp(sqlstate, "57014") == 0 ||    /* query cancelled: statement timeout, an admin's cancel */
	       strcmp(sqlstate, "55P03") == 0 ||    /* lock not available: lock timeout */
	       strcmp(sqlstate, "40001") == 0 ||    /* serialization failure */
	       strcmp(sqlstate, "40P01") == 0 ||    /* deadlock */
	       strcmp(sqlstate, "57P01") == 0 ||    /* admin shutdown */
	       strcmp(sqlstate, "57P02") == 0 ||    /* crash shutdown */
	       strcmp(sqlstate, "57P03") == 0;      /* cannot connect now */
}

/* The SQLSTATE of this thread's last failed statement run through db_*. */
static _Thread_local char last_sqlstate[6];

void db_remember_failure(const PGresult *res)
{
	snprintf(last_sqlstate, sizeof last_sqlstate, "%s", db_sqlstate(res));
}

const char *db_last_sqlstate(void)
{
	return last_sqlstate;
}

int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		db_remember_failure(r);
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = 0;
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int db_exec_params(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
		   size_t errlen)
{
	PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		db_remember_failure(r);
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = 0;
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int db_commit(PGconn *conn, char *err, size_t errlen)
{
	PGresult *r = PQexec(conn, "COMMIT");
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		db_remember_failure(r);
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = 0;
		rc = -1;
	} else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		snprintf(err, errlen, "the transaction was rolled back: a statement in it failed");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

void db_rollback(PGconn *conn)
{
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
}
