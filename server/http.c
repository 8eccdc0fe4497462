/* The listener: libmicrohttpd in thread-per-connection mode.
 *
 * Why that mode: handlers block on libpq. In the thread-pool mode a blocked
 * handler stalls every connection that shares its thread; with a thread per
 * connection it stalls only its own. SHOPPERLAKE_MAX_CONNECTIONS bounds the
 * threads, the lake pool bounds the queries running at once, a per-connection
 * memory limit bounds what headers may take. What an unauthenticated peer
 * can hold is bounded by a short timeout (SHOPPERLAKE_HEADER_TIMEOUT): a
 * connection silent that long before its first request, or after a request
 * without a valid token, is closed; only a request with a valid token raises
 * its connection's idle timeout to SHOPPERLAKE_CONNECTION_TIMEOUT. An
 * optional per-address limit (SHOPPERLAKE_MAX_CONNECTIONS_PER_IP) keeps one
 * peer from taking every thread. */
#include "server/http.h"
#include "lib/gzip.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Request line and headers we read; libmicrohttpd's memory per connection
 * is larger (mapped lazily) so that it rarely answers for us. */
#define HTTP_MAX_URL (8 * 1024)
#define HTTP_MAX_HEADERS (16 * 1024)
#define HTTP_CONNECTION_MEMORY (256 * 1024)

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;
	const struct route *routes;
	size_t nroutes;
	atomic_int in_flight;
	int port;
};

static void new_request_id(char *out, size_t len, const char *offered)
{
	if (offered) {
		size_t n = strlen(offered);
		bool ok = n > 0 && n < len && n <= 64;
		for (size_t i = 0; ok && i < n; i++)
			ok = isalnum((unsigned char)offered[i]) || offered[i] == '-' || offered[i] == '_';
		if (ok) {
			memcpy(out, offered, n + 1);
			return;
		}
	}
	unsigned char raw[8] = {0};
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		static atomic_ulong fallback;
		unsigned long v = atomic_fetch_add(&fallback, 1) ^ (unsigned long)getpid();
		memcpy(raw, &v, sizeof v < sizeof raw ? sizeof v : sizeof raw);
	}
	for (size_t i = 0; i < sizeof raw && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* The bearer token of the request (scheme case-insensitive, RFC 6750), or
 * NULL; *presented tells whether an Authorization header was sent. */
static const char *bearer_token(struct http_request *req, bool *presented)
{
	const char *h = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	*presented = h != NULL;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	return tok;
}

const char *http_query(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct query_check {
	const char *const *allowed;
	const char *unknown;
};

static enum MHD_Result check_one_query(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	struct query_check *qc = cls;
	for (const char *const *a = qc->allowed; *a; a++)
		if (strcmp(*a, key) == 0)
			return MHD_YES;
	qc->unknown = key;
	return MHD_NO;
}

static enum MHD_Result check_utf8(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	const char **bad = cls;
	if (util_utf8_valid(key) && (!value || util_utf8_valid(value)))
		return MHD_YES;
	*bad = key;
	return MHD_NO;
}

/* Query arguments reach SQL as text: refuse what is not UTF-8 up front. */
static bool query_is_utf8(struct http_request *req)
{
	const char *bad = NULL;
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_utf8, &bad);
	if (!bad)
		return true;
	json_t *name = json_string(bad);
	http_reply_problem(req, 400, "Invalid query parameter", name ? bad : "?", NULL,
			   "query parameters must be UTF-8 text");
	json_decref(name);
	return false;
}

bool http_check_query_names(struct http_request *req, const char *const *allowed)
{
	struct query_check qc = {allowed, NULL};
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_one_query, &qc);
	if (!qc.unknown)
		return true;
	http_reply_problem(req, 400, "Invalid query parameter", qc.unknown, NULL,
			   "unknown query parameter '%.64s'", qc.unknown);
	return false;
}

static void set_response(struct http_request *req, unsigned status, struct MHD_Response *resp)
{
	if (req->response)
		MHD_destroy_response(req->response);
	req->status = status;
	req->response = resp;
	if (resp)
		MHD_add_response_header(resp, "X-Request-Id", req->request_id);
}

void http_reply_response(struct http_request *req, unsigned status, struct MHD_Response *resp)
{
	set_response(req, status, resp);
}

bool http_gzip_accepted(struct http_request *req)
{
	return gzip_accepted(http_header(req, MHD_HTTP_HEADER_ACCEPT_ENCODING));
}

static void reply_text(struct http_request *req, unsigned status, char *text, const char *ctype)
{
	size_t len = strlen(text);
	bool gzipped = false;
	/* small answers are not worth a gzip header and the CPU */
	if (len >= HTTP_GZIP_MIN && http_gzip_accepted(req)) {
		size_t zlen;
		char *z = gzip_buffer(text, len, &zlen);
		if (z) {
			free(text);
			text = z;
			len = zlen;
			gzipped = true;
		}
	}
	/* MUST_FREE: libmicrohttpd frees `text` with free() when it is sent. */
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return;
	}
	if (gzipped)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	if (len >= HTTP_GZIP_MIN || gzipped)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	set_response(req, status, resp);
}

void http_reply_json(struct http_request *req, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!text)
		return;
	reply_text(req, status, text, "application/json");
}

static void slug(const char *title, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = title; *p && o + 1 < len; p++) {
		if (isalnum((unsigned char)*p))
			out[o++] = (char)tolower((unsigned char)*p);
		else if (o && out[o - 1] != '-')
			out[o++] = '-';
	}
	while (o && out[o - 1] == '-')
		o--;
	out[o] = 0;
}

void http_reply_problem(struct http_request *req, unsigned status, const char *title,
			const char *field, json_t *extra, const char *detail_fmt, ...)
{
	char detail[1024], type[128] = "urn:shopper-lake:problem:";
	va_list ap;
	va_start(ap, detail_fmt);
	vsnprintf(detail, sizeof detail, detail_fmt, ap);
	va_end(ap);
	util_utf8_repair(detail);
	size_t tl = strlen(type);
	slug(title, type + tl, sizeof type - tl);

	json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", type, "title", title,
			      "status", (int)status, "detail", detail, "instance", req->path,
			      "request_id", req->request_id);
	if (!p) /* the path was not valid UTF-8: leave out instance */
		p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", title,
			      "status", (int)status, "detail", detail, "request_id", req->request_id);
	if (!p) /* nor was the detail, which may quote the input */
		p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", title,
			      "status", (int)status, "detail", "(the detail quoted input that is not UTF-8)",
			      "request_id", req->request_id);
	if (field) {
		json_t *f = json_string(field);
		json_object_set_new(p, "field", f ? f : json_string("?"));
	}
	if (extra) {
		json_object_update(p, extra);
		json_decref(extra);
	}
	char *text = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(p);
	if (text)
		reply_text(req, status, text, "application/problem+json");
}

void http_reply_empty(struct http_request *req, unsigned status)
{
	set_response(req, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT));
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
	if (req->response)
		MHD_add_response_header(req->response, name, value);
}

static bool content_type_is(const char *have, const char *want)
{
	size_t n = strlen(want);
	return strncasecmp(have, want, n) == 0 && (have[n] == 0 || have[n] == ';' || have[n] == ' ');
}

json_t *http_body_object(struct http_request *req, const char *const *content_types)
{
	const char *ct = http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	bool ok = false;
	for (const char *const *c = content_types; ct && *c; c++)
		ok = ok || content_type_is(ct, *c);
	if (!ok) {
		http_reply_problem(req, 415, "Unsupported media type", "Content-Type", NULL,
				   "send the body as %s", content_types[0]);
		return NULL;
	}
	if (req->body.len == 0) {
		http_reply_problem(req, 400, "Malformed JSON", "body", NULL, "the request body is empty");
		return NULL;
	}
	json_error_t e;
	json_t *doc = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &e);
	if (!doc) {
		http_reply_problem(req, 400, "Malformed JSON", "body",
				   json_pack("{s:i, s:i, s:i}", "line", e.line, "column", e.column,
					     "position", e.position),
				   "invalid JSON at line %d, column %d (byte %d): %s", e.line, e.column,
				   e.position, e.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		http_reply_problem(req, 400, "Malformed JSON", "body", NULL, "the body must be a JSON object");
		return NULL;
	}
	return doc;
}

/* Who writes: a writing request names its token and request id on its lake
 * session, for the audit trigger (control.audit_row). Set on every writing
 * request, so a pooled connection never carries an earlier caller's name
 * into a write. */
static const char sql_actor[] =
	"SELECT set_config('shopperlake.actor', $1, false), set_config('shopperlake.request_id', $2, false)";

PGconn *http_db(struct http_request *req)
{
	PGconn *c = db_acquire(req->app->db, 10000);
	if (!c) {
		http_reply_problem(req, 503, "Lake unavailable", NULL, NULL,
				   "the lake database cannot be reached; retry later");
		http_add_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "5");
		return NULL;
	}
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
		const char *p[2] = {req->token_name[0] ? req->token_name : "anonymous", req->request_id};
		PGresult *r = PQexecParams(c, sql_actor, 2, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			http_reply_db_error(req, r, c);
			PQclear(r);
			db_release(req->app->db, c);
			return NULL;
		}
		PQclear(r);
	}
	return c;
}

void http_db_done(struct http_request *req, PGconn *conn)
{
	db_release(req->app->db, conn);
}

void http_reply_db_error(struct http_request *req, PGresult *res, PGconn *conn)
{
	const char *state = db_sqlstate(res);
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
	log_json(LOG_ERROR, "database error",
		 json_pack("{s:s, s:s?, s:s, s:s?}", "request_id", req->request_id, "token",
			   req->token_name[0] ? req->token_name : NULL, "sqlstate", state, "error", msg));
	if (db_error_transient(state, conn)) {
		http_reply_problem(req, 503, "Lake unavailable", NULL, NULL,
				   "the lake database did not answer; retry later");
		http_add_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "5");
		return;
	}
	http_reply_problem(req, 500, "Internal error", NULL, NULL,
			   "the request failed inside the server; the log has request id %s", req->request_id);
}

/* --- the libmicrohttpd callbacks ------------------------------------ */

struct size_count {
	size_t total;
};

static enum MHD_Result add_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct size_count *sc = cls;
	sc->total += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/* Our limits on the request line and the headers, far below libmicrohttpd's
 * per-connection memory (whose own refusals are text/html): beyond them the
 * answer is 414 or 431 as problem+json. */
static bool within_limits(struct http_request *req)
{
	struct size_count url = {strlen(req->path)}, headers = {0};
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, add_size, &url);
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, add_size, &headers);
	if (url.total > HTTP_MAX_URL) {
		http_reply_problem(req, 414, "URI too long", "url", NULL,
				   "the path and query may have at most %d bytes", HTTP_MAX_URL);
		return false;
	}
	if (headers.total > HTTP_MAX_HEADERS) {
		http_reply_problem(req, 431, "Request header fields too large", "headers", NULL,
				   "the headers may have at most %d bytes together", HTTP_MAX_HEADERS);
		return false;
	}
	return true;
}

static void route_and_authorise(struct http_server *srv, struct http_request *req)
{
	if (!within_limits(req))
		return;
	char allow[128];
	switch (router_match(srv->routes, srv->nroutes, req->method, req->path, &req->route,
			     &req->params, allow, sizeof allow)) {
	case ROUTE_NOT_FOUND:
		http_reply_problem(req, 404, "Not found", NULL, NULL, "no resource at %.200s", req->path);
		return;
	case ROUTE_METHOD_NOT_ALLOWED:
		http_reply_problem(req, 405, "Method not allowed", NULL, NULL,
				   "%.16s is not allowed here; use %s", req->method, allow);
		http_add_header(req, MHD_HTTP_HEADER_ALLOW, allow);
		return;
	case ROUTE_FOUND:
		break;
	}
	if (req->route->min_role > ROLE_PUBLIC) {
		bool presented;
		const char *tok = bearer_token(req, &presented);
		struct auth_identity who = {.role = ROLE_PUBLIC};
		if (tok && auth_identify(&srv->app->cfg, srv->app->db, tok, &who) == AUTH_UNAVAILABLE) {
			http_reply_problem(req, 503, "Lake unavailable", NULL, NULL,
					   "the token cannot be checked now; retry later");
			http_add_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "5");
			return;
		}
		req->role = who.role;
		req->token_id = who.token_id;
		snprintf(req->token_name, sizeof req->token_name, "%s", who.name);
		if (req->role == ROLE_PUBLIC) {
			http_reply_problem(req, 401, "Unauthorized", "Authorization", NULL,
					   presented ? "the bearer token is not valid"
						     : "send Authorization: Bearer <token>");
			http_add_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"shopper-lake\"");
			return;
		}
		/* an authenticated client may keep its connection idle longer */
		MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned)srv->app->cfg.connection_timeout);
		if (req->role < req->route->min_role) {
			http_reply_problem(req, 403, "Forbidden", "Authorization", NULL,
					   "token %s has the role %s; %s here needs the %s role", req->token_name,
					   auth_role_name(req->role), req->method, auth_role_name(req->route->min_role));
			return;
		}
	}
	for (int i = 0; i < req->params.count; i++)
		if (!util_utf8_valid(req->params.values[i])) {
			http_reply_problem(req, 400, "Invalid path parameter", req->params.names[i], NULL,
					   "path parameters must be UTF-8 text");
			return;
		}
	if (!query_is_utf8(req))
		return;
	const char *cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > srv->app->cfg.max_body)
		http_reply_problem(req, 413, "Body too large", "body", NULL,
				   "the body may be at most %zu bytes", srv->app->cfg.max_body);
}


/* The Origin of a browser's request when the configuration allows it (the
 * value to answer in Access-Control-Allow-Origin), else NULL. */
static const char *cors_origin(struct http_request *req)
{
	const char *origin = http_header(req, "Origin");
	const char *list = req->app->cfg.cors_origins;
	if (!origin || !list || !*list)
		return NULL;
	if (strcmp(list, "*") == 0)
		return "*";
	size_t n = strlen(origin);
	for (const char *p = list; *p; p += strcspn(p, ","), p += *p == ',') {
		p += strspn(p, " ");
		size_t len = strcspn(p, ", ");
		if (len == n && strncmp(p, origin, n) == 0)
			return origin;
	}
	return NULL;
}

/* A CORS preflight (OPTIONS with Access-Control-Request-Method) from an
 * allowed origin: 204 with what the API accepts; no token is needed, as
 * browsers send none. false when it is not one. */
static bool preflight(struct http_request *req)
{
	if (strcmp(req->method, "OPTIONS") != 0 || !http_header(req, "Access-Control-Request-Method") ||
	    !cors_origin(req))
		return false;
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return false;
	MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, HEAD, POST, PATCH, DELETE");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
				"Authorization, Content-Type, Prefer, Idempotency-Key, X-Request-Id");
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
	http_reply_response(req, 204, resp);
	return true;
}

static enum MHD_Result queue(struct http_request *req)
{
	if (!req->response) {
		http_reply_problem(req, 500, "Internal error", NULL, NULL,
				   "no answer was produced; the log has request id %s", req->request_id);
		if (!req->response)
			return MHD_NO;
	}
	const char *origin = cors_origin(req);
	if (origin) {
		MHD_add_response_header(req->response, "Access-Control-Allow-Origin", origin);
		MHD_add_response_header(req->response, "Access-Control-Expose-Headers",
					"Link, Location, Content-Range, Preference-Applied, X-Request-Id, Retry-After");
		MHD_add_response_header(req->response, MHD_HTTP_HEADER_VARY, "Origin");
	}
	enum MHD_Result r = MHD_queue_response(req->conn, req->status, req->response);
	MHD_destroy_response(req->response);
	req->response = NULL;
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *req_cls;

	if (!req) {
		req = calloc(1, sizeof *req);
		if (!req)
			return MHD_NO;
		*req_cls = req;
		atomic_fetch_add(&srv->in_flight, 1);
		clock_gettime(CLOCK_MONOTONIC, &req->started);
		req->conn = conn;
		dynbuf_init(&req->body, srv->app->cfg.max_body);
		req->app = srv->app;
		req->method = method;
		req->path = url;
		new_request_id(req->request_id, sizeof req->request_id, http_header(req, "X-Request-Id"));
		if (!preflight(req))
			route_and_authorise(srv, req);
		if (req->response)
			return queue(req);
		return MHD_YES;
	}
	if (req->dispatched)
		return MHD_YES;
	if (*upload_data_size) {
		dynbuf_add(&req->body, upload_data, *upload_data_size); /* sticky failure past the limit */
		*upload_data_size = 0;
		return MHD_YES;
	}
	req->dispatched = true;
	if (req->body.failed)
		http_reply_problem(req, 413, "Body too large", "body", NULL,
				   "the body may be at most %zu bytes", srv->app->cfg.max_body);
	else
		req->route->handler(req);
	return queue(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *req_cls;
	if (!req)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - req->started.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - req->started.tv_nsec) / 1e6;
	json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:f}", "request_id", req->request_id,
			      "method", req->method, "path", req->path, "status", (int)req->status,
			      "duration_ms", ms);
	if (!f) /* path was not valid UTF-8 */
		f = json_pack("{s:s, s:s, s:i, s:f}", "request_id", req->request_id, "method", req->method,
			      "status", (int)req->status, "duration_ms", ms);
	if (req->token_name[0])
		json_object_set_new(f, "token", json_string(req->token_name));
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		json_object_set_new(f, "aborted", json_integer(toe));
	log_json(LOG_INFO, "request", f);
	metrics_http_observe(req->route ? req->route->method : NULL, req->route ? req->route->pattern : NULL,
			     req->status, ms / 1e3);

	if (req->response)
		MHD_destroy_response(req->response);
	dynbuf_free(&req->body);
	free(req);
	*req_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* libmicrohttpd's decoding, except that %00 stays encoded: a NUL would cut
 * the C string of the path (and of query values) short. */
static size_t unescape_no_nul(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2]) &&
		    !(r[1] == '0' && r[2] == '0')) {
			char hex[3] = {r[1], r[2], 0};
			*w++ = (char)strtoul(hex, NULL, 16);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
	return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_json(LOG_WARN, "http", json_pack("{s:s}", "detail", msg));
}

struct http_server *http_start(struct app *app, const struct route *routes, size_t nroutes,
			       char *err, size_t errlen)
{
	struct http_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return NULL;
	srv->app = app;
	srv->routes = routes;
	srv->nroutes = nroutes;

	struct sockaddr_in in4 = {0};
	struct sockaddr_in6 in6 = {0};
	struct sockaddr *addr;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (inet_pton(AF_INET, app->cfg.listen_addr, &in4.sin_addr) == 1) {
		in4.sin_family = AF_INET;
		in4.sin_port = htons((uint16_t)app->cfg.port);
		addr = (struct sockaddr *)&in4;
	} else if (inet_pton(AF_INET6, app->cfg.listen_addr, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		in6.sin6_port = htons((uint16_t)app->cfg.port);
		addr = (struct sockaddr *)&in6;
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "SHOPPERLAKE_LISTEN is not an IP address: %s", app->cfg.listen_addr);
		free(srv);
		return NULL;
	}

	srv->daemon = MHD_start_daemon(flags, (uint16_t)app->cfg.port, NULL, NULL, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, addr,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app->cfg.header_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)app->cfg.max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)app->cfg.max_per_ip,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)(2 * 1024 * 1024),
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape_no_nul, NULL,
		MHD_OPTION_END);
	if (!srv->daemon) {
		snprintf(err, errlen, "cannot listen on %s port %d", app->cfg.listen_addr, app->cfg.port);
		free(srv);
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : app->cfg.port;
	return srv;
}

int http_port(struct http_server *srv) { return srv->port; }

void http_stop(struct http_server *srv, int drain_secs)
{
	if (!srv)
		return;
	MHD_socket listen_fd = MHD_quiesce_daemon(srv->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	for (int i = 0; i < drain_secs * 20 && atomic_load(&srv->in_flight) > 0; i++)
		usleep(50000);
	MHD_stop_daemon(srv->daemon);
	free(srv);
}

static int parse_positive(const char *s, long long *out)
{
	/* 1: ok, 0: not digits, -1: digits but too large */
	if (!s || !*s || strlen(s) > 40)
		return s && *s && strspn(s, "0123456789") == strlen(s) ? -1 : 0;
	if (strspn(s, "0123456789") != strlen(s))
		return 0;
	if (strlen(s) > 18)
		return -1;
	*out = strtoll(s, NULL, 10);
	return *out > 0 ? 1 : 0;
}

bool http_path_id(struct http_request *req, const char *name, const char *what, long long *id)
{
	const char *v = route_param(&req->params, name);
	int r = parse_positive(v, id);
	if (r == 1)
		return true;
	if (r < 0)
		http_reply_problem(req, 404, "Not found", name, NULL, "no %s with this id", what);
	else
		http_reply_problem(req, 400, "Invalid path parameter", name, NULL,
				   "the %s id must be a positive integer", what);
	return false;
}

bool http_query_int(struct http_request *req, const char *name, long long def, long long min,
		    long long max, long long *out)
{
	const char *v = http_query(req, name);
	if (!v) {
		*out = def;
		return true;
	}
	if (parse_positive(v, out) == 1 && *out >= min && *out <= max)
		return true;
	if (strcmp(v, "0") == 0 && min == 0) {
		*out = 0;
		return true;
	}
	http_reply_problem(req, 400, "Invalid query parameter", name, NULL,
			   "%s must be an integer from %lld to %lld", name, min, max);
	return false;
}
