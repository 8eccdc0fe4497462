/* The HTTP listener (libmicrohttpd) and the request/response helpers that
 * handlers use.
 *
 * Threading: an internal thread pool (SHOPPERLAKE_HTTP_THREADS). Handlers run
 * on those threads and may block on the lake, so the pool size bounds the
 * requests served at once; connections beyond it wait in the kernel queue,
 * not in our memory. Each request takes at most one lake connection.
 *
 * A request's life: its struct is made on the first callback (request id,
 * clock), auth and routing happen before any body is read (so a 401, 404 or
 * 413 never reads a large body), the body is gathered up to the configured
 * limit, the handler answers with one of the http_reply_* calls, and the
 * completion callback logs the request and frees the struct. */
#ifndef LAKE_HTTP_H
#define LAKE_HTTP_H

#include "lib/dynbuf.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/router.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <time.h>

struct http_request {
	struct MHD_Connection *conn;
	struct app *app;
	const char *method;           /* owned by libmicrohttpd */
	const char *path;             /* decoded, without the query */
	char request_id[40];
	enum auth_role role;
	/* Who called: the name of the token (never its secret), "" for a public
	 * route; logged with the request, kept for handlers and audit. */
	char token_name[AUTH_NAME_MAX + 1];
	long long token_id;           /* 0 for a bootstrap token */
	const struct route *route;
	struct route_params params;
	struct dynbuf body;           /* capped at the configured body limit; data NULL when empty */
	bool dispatched;
	unsigned status;              /* set by http_reply_* */
	struct MHD_Response *response;
	struct timespec started;
};

struct http_server;

struct http_server *http_start(struct app *app, const struct route *routes, size_t nroutes,
			       char *err, size_t errlen);
/* The port actually bound (useful with SHOPPERLAKE_PORT=0). */
int http_port(struct http_server *srv);
/* Stops accepting, waits up to drain_secs for in-flight requests, stops. */
void http_stop(struct http_server *srv, int drain_secs);

/* --- for handlers ---------------------------------------------------- */

/* A query-string argument, or NULL. */
const char *http_query(struct http_request *req, const char *name);
/* A request header, or NULL. */
const char *http_header(struct http_request *req, const char *name);
/* Answers 400 naming the first query argument not in `allowed` (NULL-ended)
 * and returns false; true when all arguments are known. */
bool http_check_query_names(struct http_request *req, const char *const *allowed);

/* Answers `body` as JSON (stolen). */
void http_reply_json(struct http_request *req, unsigned status, json_t *body);
/* Answers RFC 9457 problem+json. `field` names the offending input (may be
 * NULL); `extra` (stolen, may be NULL) is merged into the problem object. */
void http_reply_problem(struct http_request *req, unsigned status, const char *title,
			const char *field, json_t *extra, const char *detail_fmt, ...)
	__attribute__((format(printf, 6, 7)));
void http_reply_empty(struct http_request *req, unsigned status);
/* Takes ownership of a ready libmicrohttpd response. */
void http_reply_response(struct http_request *req, unsigned status, struct MHD_Response *resp);
/* Answers of at least this many bytes are gzipped when the client accepts it. */
#define HTTP_GZIP_MIN 1024
/* true when the request's Accept-Encoding takes gzip. */
bool http_gzip_accepted(struct http_request *req);
/* Adds a header to the response already set (Location, ETag, ...). */
void http_add_header(struct http_request *req, const char *name, const char *value);

/* Parses the request body as a JSON object; on failure answers 400 (with
 * line, column and position) or 415 and returns NULL. */
json_t *http_body_object(struct http_request *req, const char *const *content_types);

/* A lake connection for this request, or NULL after answering 503. */
PGconn *http_db(struct http_request *req);
void http_db_done(struct http_request *req, PGconn *conn);
/* Answers 500 for an unexpected database error, logging the detail. */
void http_reply_db_error(struct http_request *req, PGresult *res, PGconn *conn);



/* Reads the path placeholder `name` as a positive 64-bit id. Answers 400
 * (not a number) or 404 (out of range: no such resource) and returns false
 * when it is not one. */
bool http_path_id(struct http_request *req, const char *name, const char *what, long long *id);
/* Parses a positive integer query argument within [min, max], default def;
 * answers 400 naming it and returns false when invalid. */
bool http_query_int(struct http_request *req, const char *name, long long def, long long min,
		    long long max, long long *out);

#endif
