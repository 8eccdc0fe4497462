/* The web dashboard's files: GET /ui/<path> answers the file web/<path> under
 * SHOPPERLAKE_HOME ("/ui/" is web/index.html, "/ui" redirects there). No
 * token: the files hold no data; the pages ask for a token and use the API.
 *
 * The path is checked before it touches the file system: at most 4 segments
 * of [A-Za-z0-9_.-], none empty nor starting with a dot (so no "..", no hidden
 * file), ending in a known extension, which also gives the Content-Type.
 * Anything else is 404, the same answer as a missing file. The last segment
 * is opened without following a symbolic link and must be a regular file.
 *
 * Every answer carries a strict Content-Security-Policy (scripts, styles,
 * images and API calls from this origin only: no inline script, no CDN), and
 * `Cache-Control: no-cache` with an ETag (size and modification time), so a
 * browser revalidates and gets 304 while the file is unchanged. */
#include "handlers/handlers.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_MAX_SEGMENTS 4
#define STATIC_MAX_SEGMENT 64
#define STATIC_MAX_FILE (8 << 20)

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
			  "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'none'; "
			  "base-uri 'none'; frame-ancestors 'none'";

static const struct {
	const char *ext;
	const char *type;
} TYPES[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".json", "application/json"},
	{".txt", "text/plain; charset=utf-8"},
	{".woff2", "font/woff2"},
};

/* The Content-Type for `path`'s extension, or NULL when not served. */
static const char *content_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	if (!dot || (slash && dot < slash))
		return NULL;
	for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
		if (strcmp(dot, TYPES[i].ext) == 0)
			return TYPES[i].type;
	return NULL;
}

/* true when `rel` is a path we may serve: see the file's header. */
static bool safe_path(const char *rel)
{
	int segments = 0;
	const char *p = rel;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || n > STATIC_MAX_SEGMENT || p[0] == '.' || ++segments > STATIC_MAX_SEGMENTS)
			return false;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				  c == '_' || c == '-' || c == '.';
			if (!ok)
				return false;
		}
		if (!p[n])
			return true;
		p += n + 1;
	}
}

static void add_common_headers(struct MHD_Response *resp, const char *etag)
{
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
}

static void not_found(struct http_request *req)
{
	http_reply_problem(req, 404, "Not found", "path", NULL, "no dashboard file at %.200s", req->path);
}

void handle_ui(struct http_request *req)
{
	const char *rest = route_param(&req->params, "*");
	if (strcmp(req->path, "/ui") == 0) {
		http_reply_empty(req, 308);
		http_add_header(req, MHD_HTTP_HEADER_LOCATION, "/ui/");
		return;
	}
	if (!rest || !*rest)
		rest = "index.html";
	const char *ctype = content_type(rest);
	if (!ctype || !safe_path(rest)) {
		not_found(req);
		return;
	}
	char path[4096];
	int w = snprintf(path, sizeof path, "%s/web/%s", req->app->cfg.home, rest);
	if (w < 0 || (size_t)w >= sizeof path) {
		not_found(req);
		return;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_FILE) {
		if (fd >= 0)
			close(fd);
		not_found(req);
		return;
	}
	char etag[64];
	snprintf(etag, sizeof etag, "\"%llx-%llx.%lx\"", (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
	const char *inm = http_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct MHD_Response *resp;
	unsigned status = 200;
	if (inm && strcmp(inm, etag) == 0) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		status = 304;
	} else {
		resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd); /* owns fd from here */
		if (!resp)
			close(fd);
	}
	if (!resp) {
		http_reply_problem(req, 500, "Internal error", NULL, NULL, "the file could not be sent");
		return;
	}
	if (status == 200)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	add_common_headers(resp, etag);
	http_reply_response(req, status, resp);
}
