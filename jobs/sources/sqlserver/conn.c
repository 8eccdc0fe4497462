/* A connection to a SQL Server through FreeTDS' db-lib (see conn.h).
 *
 * Why db-lib and not ct-lib: db-lib hands over each column's native value
 * in place (dbcoltype, dbdata, dbdatlen) with no per-row binding or
 * conversion, which is what a streaming extractor wants; its interrupt
 * hooks (dbsetinterrupt) give a cancel that sends an attention from the
 * thread that owns the connection; and it is the FreeTDS API that freebcp
 * and bsqldb, our benchmark's anchor, are built on. ct-lib would need a
 * bound buffer per column, ct_get_data for large values and more state.
 *
 * FreeTDS' thread rules: dbinit once per process (pthread_once); a
 * DBPROCESS is used by one thread at a time; the error and message handlers
 * and the login timeout are process-wide. So: the handlers write into the
 * calling thread's connection (a thread-local pointer, set around every
 * db-lib call that can fail); logins take a mutex to set their own login
 * timeout; no other thread ever touches a DBPROCESS — a cancel from the
 * supervisor only sets a flag. db-lib polls the interrupt check once a
 * second while it waits for the server; when it says stop, db-lib sends an
 * attention (INT_CANCEL). While rows stream, the extractor checks the flag
 * itself and calls dbcancel. The query timeout is counted the same way
 * (seconds without a byte), because dbsettime is process-wide too. */
#include "jobs/sources/sqlserver/conn.h"
#include "jobs/sources/sqlserver/format.h"
#include "lib/secret.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sybfront.h>
#include <sybdb.h>

/* the connection of the thread's db-lib call in progress */
static _Thread_local struct mssql_conn *current;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t login_lock = PTHREAD_MUTEX_INITIALIZER;
static bool init_ok;

/* --- the secret ------------------------------------------------------ */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string; NULL when malformed. */
static char *decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
		int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = 0;
	return out;
}

static int url_int(const char *v, size_t n, int min, int max, int *out)
{
	char buf[16];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, v, n);
	buf[n] = 0;
	char *end;
	long x = strtol(buf, &end, 10);
	if (*end || x < min || x > max)
		return -1;
	*out = (int)x;
	return 0;
}

static int url_fail(struct mssql_url *u, char *err, size_t errlen, const char *what)
{
	mssql_url_free(u);
	snprintf(err, errlen, "the secret is not a valid sqlserver:// URL: %s "
		 "(expected sqlserver://user:password@host:port/database?packet_size=16384)", what);
	return -1;
}

int mssql_url_parse(const char *text, struct mssql_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	u->port = MSSQL_DEFAULT_PORT;
	u->packet_size = u->login_timeout = u->query_timeout = -1;
	static const char scheme[] = "sqlserver://";
	if (!text || strncmp(text, scheme, sizeof scheme - 1) != 0)
		return url_fail(u, err, errlen, "it must start with sqlserver://");
	const char *p = text + sizeof scheme - 1;
	const char *at = strrchr(p, '@');
	const char *slash = at ? strchr(at, '/') : NULL;
	if (!at || !slash)
		return url_fail(u, err, errlen, "user, password, host and database are required");
	const char *colon = memchr(p, ':', (size_t)(at - p));
	if (!colon || colon == p)
		return url_fail(u, err, errlen, "user and password are required");
	u->user = decode(p, (size_t)(colon - p));
	u->password = decode(colon + 1, (size_t)(at - colon - 1));
	if (!u->user || !u->password)
		return url_fail(u, err, errlen, "bad percent-encoding in the user or password");
	const char *host = at + 1, *hostend = slash;
	const char *pcolon = memchr(host, ':', (size_t)(slash - host));
	if (pcolon) {
		if (url_int(pcolon + 1, (size_t)(slash - pcolon - 1), 1, 65535, &u->port) != 0)
			return url_fail(u, err, errlen, "the port must be a number from 1 to 65535");
		hostend = pcolon;
	}
	if (hostend == host)
		return url_fail(u, err, errlen, "the host is missing");
	u->host = strndup(host, (size_t)(hostend - host));
	for (const char *h = u->host; h && *h; h++)
		if (!(h[0] == '.' || h[0] == '-' || h[0] == '_' || (h[0] >= '0' && h[0] <= '9') ||
		      (h[0] >= 'a' && h[0] <= 'z') || (h[0] >= 'A' && h[0] <= 'Z')))
			return url_fail(u, err, errlen, "the host must be a name or an IPv4 address");
	const char *q = strchr(slash, '?');
	const char *dbend = q ? q : slash + strlen(slash);
	u->database = decode(slash + 1, (size_t)(dbend - slash - 1));
	if (!u->host || !u->database || !u->database[0])
		return url_fail(u, err, errlen, "the database is missing");
	while (q && *q) {
		const char *k = q + 1, *amp = strchr(k, '&'), *end = amp ? amp : k + strlen(k);
		const char *eq = memchr(k, '=', (size_t)(end - k));
		if (!eq)
			return url_fail(u, err, errlen, "a query parameter without a value");
		size_t kn = (size_t)(eq - k), vn = (size_t)(end - eq - 1);
		int rc = 0;
		if (kn == 11 && !strncmp(k, "packet_size", kn))
			rc = url_int(eq + 1, vn, 512, 32767, &u->packet_size);
		else if (kn == 13 && !strncmp(k, "login_timeout", kn))
			rc = url_int(eq + 1, vn, 1, 600, &u->login_timeout);
		else if (kn == 13 && !strncmp(k, "query_timeout", kn))
			rc = url_int(eq + 1, vn, 0, 86400, &u->query_timeout);
		else
			return url_fail(u, err, errlen, "unknown parameter (packet_size, login_timeout and query_timeout are known)");
		if (rc != 0)
			return url_fail(u, err, errlen, "packet_size must be 512 to 32767, login_timeout 1 to 600, query_timeout 0 to 86400");
		q = amp;
	}
	return 0;
}

void mssql_url_free(struct mssql_url *u)
{
	if (u->password)
		explicit_bzero(u->password, strlen(u->password));
	free(u->host);
	free(u->user);
	free(u->password);
	free(u->database);
	memset(u, 0, sizeof *u);
}

/* --- handlers -------------------------------------------------------- */

/* Writes the first line of `text` into c->message with every part of the
 * secret blotted out (server messages may quote the user or database). */
static void keep_message(struct mssql_conn *c, const char *text)
{
	struct dynbuf b = {0};
	const char *p = text ? text : "";
	while (*p && *p != '\r' && *p != '\n') {
		size_t hit = 0;
		for (int i = 0; i < 4 && !hit; i++) {
			const char *part = c->secret_parts[i];
			size_t n = part ? strlen(part) : 0;
			if (n >= 2 && strncasecmp(p, part, n) == 0)
				hit = n;
		}
		if (hit) {
			dynbuf_addstr(&b, "***");
			p += hit;
		} else {
			dynbuf_addc(&b, *p++);
		}
	}
	snprintf(c->message, sizeof c->message, "%s", dynbuf_cstr(&b));
	dynbuf_free(&b);
}

static int on_error(DBPROCESS *dbproc, int severity, int dberr, int oserr, char *dberrstr, char *oserrstr)
{
	struct mssql_conn *c = current;
	if (c && !c->client_error)
		c->client_error = dberr;
	return INT_CANCEL; /* never db-lib's default, which may exit the process */
}

static int on_message(DBPROCESS *dbproc, DBINT msgno, int msgstate, int severity, char *msgtext, char *srvname,
		      char *procname, int line)
{
	struct mssql_conn *c = current;
	if (c && severity > 10 && !c->server_error) {
		c->server_error = (int)msgno;
		keep_message(c, msgtext);
	}
	return 0;
}

/* Asked by db-lib about once a second while it waits for the server. */
static int check_interrupt(void *dbproc)
{
	struct mssql_conn *c = (struct mssql_conn *)dbgetuserdata(dbproc);
	if (!c)
		return FALSE;
	if (atomic_load(&c->interrupted) || (c->w && worker_should_stop(c->w)))
		return TRUE;
	if (c->query_timeout > 0 && ++c->idle_seconds >= c->query_timeout) {
		c->timed_out = true;
		return TRUE;
	}
	return FALSE;
}

static int handle_interrupt(void *dbproc)
{
	return INT_CANCEL; /* db-lib sends an attention */
}

/* worker_interrupt's callback, on the supervisor thread: a flag only. */
static void interrupt_from_supervisor(void *arg)
{
	atomic_store(&((struct mssql_conn *)arg)->interrupted, true);
}

static void init_dblib(void)
{
	init_ok = dbinit() == SUCCEED;
	if (init_ok) {
		dberrhandle(on_error);
		dbmsghandle(on_message);
	}
}

/* --- failures in our words ------------------------------------------- */

static bool server_error_permanent(int n)
{
	static const int permanent[] = {18456, 4060, 102, 156, 195, 207, 208, 229, 230, 2812, 3952, 4104, 22105, 0};
	for (int i = 0; permanent[i]; i++)
		if (permanent[i] == n)
			return true;
	return false;
}

int mssql_fail(struct mssql_conn *c, struct load_error *err, const char *what)
{
	if (c->w && worker_should_stop(c->w))
		return load_fail(err, JOB_CANCELLED, "cancelled during the source %s", what);
	if (c->timed_out)
		return load_fail(err, JOB_TRANSIENT, "the source did not answer the %s for %d s (query_timeout)", what,
				 c->query_timeout);
	switch (c->server_error) {
	case 18456:
		return load_fail(err, JOB_PERMANENT, "the source refused the login: wrong user or password in the "
				 "connection secret (SQL Server error 18456)");
	case 4060:
		return load_fail(err, JOB_PERMANENT, "the source cannot open the database named in the connection "
				 "secret (SQL Server error 4060)");
	case 0:
		break;
	default:
		return load_fail(err, server_error_permanent(c->server_error) ? JOB_PERMANENT : JOB_TRANSIENT,
				 "source %s: SQL Server error %d: %s", what, c->server_error, c->message);
	}
	if (c->dbproc && dbdead(c->dbproc))
		return load_fail(err, JOB_TRANSIENT, "source %s: the connection to the SQL Server was lost", what);
	if (c->client_error == SYBECONN || c->client_error == SYBEFCON || !c->dbproc)
		return load_fail(err, JOB_TRANSIENT, "cannot connect to the SQL Server named in the connection secret "
				 "(no answer, refused or not a TDS server; db-lib error %d)", c->client_error);
	return load_fail(err, JOB_TRANSIENT, "source %s failed (db-lib error %d)", what, c->client_error);
}

/* --- connect and close ----------------------------------------------- */

static int option_int(json_t *options, const char *name, int from_url, int fallback)
{
	json_t *v = json_object_get(options, name);
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	return from_url >= 0 ? from_url : fallback;
}

int mssql_connect(struct mssql_conn *c, const char *ref, json_t *options, struct worker_slot *w,
		  struct load_error *err)
{
	char msg[512], server[300], *text = NULL;
	struct mssql_url u;
	LOGINREC *login = NULL;
	int rc = -1;

	memset(c, 0, sizeof *c);
	c->w = w;
	pthread_once(&init_once, init_dblib);
	if (!init_ok)
		return load_fail(err, JOB_PERMANENT, "FreeTDS db-lib could not start");
	if (secret_resolve(ref, &text, msg, sizeof msg) != 0)
		return load_fail(err, JOB_PERMANENT, "connection_secret: %s", msg);
	int parsed = mssql_url_parse(text, &u, msg, sizeof msg);
	explicit_bzero(text, strlen(text));
	free(text);
	if (parsed != 0)
		return load_fail(err, JOB_PERMANENT, "connection_secret: %s", msg);
	c->secret_parts[0] = strdup(u.user);
	c->secret_parts[1] = strdup(u.password);
	c->secret_parts[2] = strdup(u.host);
	c->secret_parts[3] = strdup(u.database);
	c->query_timeout = option_int(options, "query_timeout", u.query_timeout, MSSQL_DEFAULT_QUERY_TIMEOUT);
	int packet = option_int(options, "packet_size", u.packet_size, MSSQL_DEFAULT_PACKET);
	int login_timeout = option_int(options, "login_timeout", u.login_timeout, MSSQL_DEFAULT_LOGIN_TIMEOUT);

	login = dblogin();
	if (!login) {
		load_fail(err, JOB_TRANSIENT, "out of memory");
		goto out;
	}
	DBSETLUSER(login, u.user);
	DBSETLPWD(login, u.password);
	DBSETLDBNAME(login, u.database);
	DBSETLAPP(login, "shopperlake");
	DBSETLCHARSET(login, "UTF-8");
	DBSETLPACKET(login, packet);
	dbsetlversion(login, DBVERSION_74);
	snprintf(server, sizeof server, "%s:%d", u.host, u.port);

	current = c;
	pthread_mutex_lock(&login_lock); /* the login timeout is process-wide */
	dbsetlogintime(login_timeout);
	c->dbproc = dbopen(login, server);
	pthread_mutex_unlock(&login_lock);
	current = NULL;
	if (!c->dbproc) {
		mssql_fail(c, err, "login");
		goto out;
	}
	dbsetuserdata(c->dbproc, (BYTE *)c);
	dbsetinterrupt(c->dbproc, check_interrupt, handle_interrupt);
	if (w)
		worker_set_interrupt(w, interrupt_from_supervisor, c);
	/* (max), text and ntext values whole: SQL Server cuts them at TEXTSIZE */
	rc = mssql_exec(c, "SET TEXTSIZE 2147483647; SET NOCOUNT ON; SET XACT_ABORT ON", err, "session setup");
out:
	if (login)
		dbloginfree(login);
	mssql_url_free(&u);
	return rc;
}

void mssql_close(struct mssql_conn *c)
{
	if (c->w)
		worker_set_interrupt(c->w, NULL, NULL);
	if (c->dbproc) {
		current = c;
		dbclose(c->dbproc);
		current = NULL;
	}
	c->dbproc = NULL;
	for (int i = 0; i < 4; i++) {
		if (c->secret_parts[i])
			explicit_bzero(c->secret_parts[i], strlen(c->secret_parts[i]));
		free(c->secret_parts[i]);
		c->secret_parts[i] = NULL;
	}
}

/* --- statements ------------------------------------------------------ */

static void reset_errors(struct mssql_conn *c)
{
	c->in_rows = false;
	c->server_error = c->client_error = 0;
	c->message[0] = 0;
	c->idle_seconds = 0;
}

int mssql_send(struct mssql_conn *c, const char *sql, struct load_error *err, const char *what)
{
	reset_errors(c);
	current = c;
	RETCODE rc = dbcmd(c->dbproc, sql);
	if (rc == SUCCEED)
		rc = dbsqlexec(c->dbproc);
	current = NULL;
	return rc == SUCCEED && !c->server_error ? 0 : mssql_fail(c, err, what);
}

int mssql_next_result(struct mssql_conn *c, struct load_error *err, const char *what)
{
	current = c;
	RETCODE rc;
	while ((rc = dbresults(c->dbproc)) == SUCCEED && dbnumcols(c->dbproc) == 0)
		;
	current = NULL;
	if (rc == FAIL || c->server_error || c->timed_out)
		return mssql_fail(c, err, what);
	c->in_rows = rc == SUCCEED;
	return rc == SUCCEED ? 1 : 0;
}

int mssql_next_row(struct mssql_conn *c, struct load_error *err, const char *what)
{
	current = c;
	c->idle_seconds = 0;
	STATUS st = dbnextrow(c->dbproc);
	current = NULL;
	if (st != REG_ROW)
		c->in_rows = false;
	if (st == REG_ROW && !c->server_error)
		return 1;
	if (st == NO_MORE_ROWS && !c->server_error && !c->timed_out)
		return 0;
	return mssql_fail(c, err, what);
}

int mssql_finish(struct mssql_conn *c, struct load_error *err, const char *what)
{
	int rc = 1;
	do {
		int row = 0;
		while (c->in_rows && (row = mssql_next_row(c, err, what)) == 1)
			;
		if (row < 0)
			return -1;
	} while ((rc = mssql_next_result(c, err, what)) == 1);
	return rc;
}

int mssql_exec(struct mssql_conn *c, const char *sql, struct load_error *err, const char *what)
{
	if (mssql_send(c, sql, err, what) != 0)
		return -1;
	return mssql_finish(c, err, what);
}

/* Undoes COPY's text escapes in place (the formatter's \\, \t, \n, \r). */
static void unescape_copy(char *s)
{
	char *o = s;
	for (const char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*o++ = *p;
			continue;
		}
		p++;
		*o++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p;
	}
	*o = 0;
}

char *mssql_col_text(struct mssql_conn *c, int col, bool *failed)
{
	int type;
	const unsigned char *data;
	size_t len;
	char *text = NULL;
	mssql_col(c, col, &type, &data, &len);
	if (data) {
		struct dynbuf b = {0};
		if (mssql_format(&b, type, data, len) == MSSQL_FMT_OK && (text = dynbuf_take(&b)))
			unescape_copy(text);
		dynbuf_free(&b);
	}
	if (failed)
		*failed = data && !text;
	return text;
}

int mssql_value(struct mssql_conn *c, const char *sql, char **out, struct load_error *err, const char *what)
{
	bool bad = false;
	*out = NULL;
	if (mssql_send(c, sql, err, what) != 0)
		return -1;
	int rc = mssql_next_result(c, err, what);
	if (rc == 1 && (rc = mssql_next_row(c, err, what)) == 1)
		*out = mssql_col_text(c, 1, &bad);
	if (rc < 0 || mssql_finish(c, err, what) != 0 || bad) {
		free(*out);
		*out = NULL;
		return bad && rc >= 0 ? load_fail(err, JOB_TRANSIENT, "source %s: a value of an unexpected type", what) : -1;
	}
	return 0;
}

void mssql_cancel(struct mssql_conn *c)
{
	if (!c->dbproc || dbdead(c->dbproc))
		return;
	current = c;
	dbcancel(c->dbproc);
	current = NULL;
}

int mssql_ncols(struct mssql_conn *c)
{
	return dbnumcols(c->dbproc);
}

void mssql_col(struct mssql_conn *c, int col, int *type, const unsigned char **data, size_t *len)
{
	*type = dbcoltype(c->dbproc, col);
	*data = dbdata(c->dbproc, col);
	*len = *data ? (size_t)dbdatlen(c->dbproc, col) : 0;
}

const char *mssql_col_name(struct mssql_conn *c, int col)
{
	return dbcolname(c->dbproc, col);
}

/* --- quoting --------------------------------------------------------- */

static char *quote(const char *s, const char *open, char close)
{
	size_t n = strlen(open) + 2;
	for (const char *p = s; *p; p++)
		n += *p == close ? 2 : 1;
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	o = stpcpy(o, open);
	for (const char *p = s; *p; p++) {
		*o++ = *p;
		if (*p == close)
			*o++ = close;
	}
	*o++ = close;
	*o = 0;
	return out;
}

char *mssql_quote_ident(const char *name)
{
	return quote(name, "[", ']');
}

char *mssql_quote_string(const char *text)
{
	return quote(text, "N'", '\'');
}
