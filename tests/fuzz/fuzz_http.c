/* Fuzz target: the HTTP request path, from raw bytes on a connection to the
 * answer: libmicrohttpd's parsing as configured by server/http.c (our
 * unescape callback, memory limit), routing and authorisation
 * (server/router.c, server/routes.c), query-string and body checks, and
 * every handler up to the point where it needs the lake.
 *
 * How it gets there without a database or a port: this file includes
 * server/http.c, so its static callbacks (on_request, on_completed,
 * unescape_no_nul, mhd_log) are the ones that serve here, unchanged; the
 * fuzz executable therefore never links liblake's copy of http.o. It starts
 * its own daemon with http_start's options but no listening socket and no
 * thread (MHD_USE_NO_LISTEN_SOCKET, driven by MHD_run), and for each input
 * hands libmicrohttpd one end of a socketpair (MHD_add_connection), writes
 * the input to the other end as a client would, and reads the answer. The
 * lake pool points at a socket that does not exist, so a handler that gets
 * as far as the database answers 503 at once: what is fuzzed is everything
 * before that. The tokens are fixed ("fuzz-admin-token", "fuzz-reader-token";
 * http.dict has them) so admin routes and bodies are reached.
 *
 * Checked on the first answer, besides the sanitizers: it is an HTTP status
 * line; an answer of ours (it carries X-Request-Id) is never a 500, and a
 * 4xx/5xx of ours is application/problem+json whose body is a JSON object
 * with the same status, a type and a title. (libmicrohttpd's own refusals,
 * for requests it cannot parse, are text/html: issue 16 item 9.)
 * A violated invariant aborts, which libFuzzer reports as a crash. */
#include "tests/fuzz/fuzz.h"
#include "server/http.c"
#include "server/routes.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#define MAX_OUT (256 * 1024)

static struct app app;
static struct http_server server;
static struct MHD_Daemon *daemon_;
static char out[MAX_OUT + 1];

static void start(void)
{
	static char openapi[] = "{\"openapi\":\"3.1.0\"}";
	log_set_level((enum log_level)(LOG_ERROR + 1)); /* silence: one line per request otherwise */
	app.cfg.admin_token = "fuzz-admin-token";
	app.cfg.reader_token = "fuzz-reader-token";
	app.cfg.max_body = 64 * 1024;
	app.cfg.connection_timeout = 30;
	app.cfg.max_connections = 16;
	app.db = db_pool_open("postgresql:///lake?host=/nonexistent/shopperlake-fuzz", 1, "shopperlake-fuzz");
	app.openapi_json = openapi;
	app.openapi_len = sizeof openapi - 1;
	CHECK(app.db != NULL);
	server.app = &app;
	server.routes = lake_routes;
	server.nroutes = lake_routes_count;
	/* http_start's options, minus the listening socket and the threads */
	daemon_ = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, &server,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app.cfg.connection_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)app.cfg.max_connections,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, &server,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape_no_nul, NULL,
		MHD_OPTION_END);
	CHECK(daemon_ != NULL);
}

static unsigned connections(void)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return i ? i->num_connections : 0;
}

/* Reads what the server sent so far; returns the bytes read now. */
static size_t drain(int fd, size_t *len)
{
	size_t got = 0;
	for (;;) {
		char tmp[16384];
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n <= 0)
			return got;
		size_t keep = (size_t)n < MAX_OUT - *len ? (size_t)n : MAX_OUT - *len;
		memcpy(out + *len, tmp, keep);
		*len += keep;
		got += (size_t)n;
	}
}

/* The value of header `name` in the head [s, end), or NULL (not terminated). */
static const char *header_in(const char *s, const char *end, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	for (const char *p = s; p < end;) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			return NULL;
		if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (v < eol && *v == ' ')
				v++;
			*vlen = (size_t)(eol - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

static void check_answer(size_t len, bool head)
{
	const char *p = out, *end = out + len;
	out[len] = 0;
	for (;;) { /* skip interim 1xx answers (100 Continue) */
		if (len == 0)
			return; /* no answer: the request was incomplete, or the connection refused */
		CHECK(len >= 12 && memcmp(p, "HTTP/1.", 7) == 0);
		const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		CHECK(hend != NULL);
		int status = atoi(p + 9);
		CHECK(status >= 100 && status <= 599);
		if (status >= 200)
			break;
		p = hend + 4;
		len = (size_t)(end - p);
	}
	int status = atoi(p + 9);
	const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
	size_t vlen;
	if (!header_in(p, hend + 2, "X-Request-Id", &vlen))
		return; /* libmicrohttpd's own refusal */
	CHECK(status != 500);
	if (status < 400)
		return;
	const char *ct = header_in(p, hend + 2, "Content-Type", &vlen);
	CHECK(ct && vlen == strlen("application/problem+json") && memcmp(ct, "application/problem+json", vlen) == 0);
	const char *cl = header_in(p, hend + 2, "Content-Length", &vlen);
	CHECK(cl != NULL);
	size_t body_len = strtoul(cl, NULL, 10);
	if (head)
		return; /* no body follows */
	CHECK((size_t)(end - (hend + 4)) >= body_len);
	json_error_t e;
	json_t *doc = json_loadb(hend + 4, body_len, 0, &e);
	CHECK(json_is_object(doc));
	CHECK(json_integer_value(json_object_get(doc, "status")) == status);
	CHECK(json_is_string(json_object_get(doc, "type")) && json_is_string(json_object_get(doc, "title")));
	json_t *field = json_object_get(doc, "field");
	CHECK(!field || json_is_string(field));
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!daemon_)
		start();
	if (size > 128 * 1024)
		return 0;
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(MHD_add_connection(daemon_, sv[0], (struct sockaddr *)&peer, sizeof peer) == MHD_YES);

	size_t sent = 0, len = 0;
	int idle = 0;
	for (int round = 0; round < 10000 && idle < 4; round++) {
		if (sent < size) {
			ssize_t n = write(sv[1], data + sent, size - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		MHD_run(daemon_);
		size_t got = drain(sv[1], &len);
		idle = sent == size && got == 0 ? idle + 1 : 0;
		if (connections() == 0)
			break; /* the server closed it */
	}
	drain(sv[1], &len);
	close(sv[1]);
	for (int round = 0; round < 100 && connections() > 0; round++)
		MHD_run(daemon_);
	CHECK(connections() == 0);

	if (getenv("FUZZ_HTTP_PRINT")) /* to see the answers: FUZZ_HTTP_PRINT=1 fuzz_http FILE... */
		fprintf(stderr, "--- %zu bytes in, %zu out:\n%.*s\n", size, len, (int)len, out);
	size_t lead = 0;
	while (lead < size && (data[lead] == '\r' || data[lead] == '\n'))
		lead++;
	check_answer(len, size - lead >= 5 && memcmp(data + lead, "HEAD ", 5) == 0);
	return 0;
}
