/* gzip through zlib's deflate with a gzip wrapper (windowBits 15 + 16). */
#include "lib/gzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define GZIP_LEVEL 5          /* past 5, more CPU buys little on CSV and JSON */
#define GZIP_WINDOW (15 + 16) /* 32 KiB window, gzip header and trailer */
#define GZIP_STAGE (64 * 1024)

char *gzip_buffer(const char *data, size_t len, size_t *outlen)
{
	z_stream z = {0};
	if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&z, (uLong)len);
	char *out = malloc(cap);
	if (out) {
		z.next_in = (Bytef *)data;
		z.avail_in = (uInt)len;
		z.next_out = (Bytef *)out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
			free(out);
			out = NULL;
		} else {
			*outlen = z.total_out;
		}
	}
	deflateEnd(&z);
	return out;
}

struct gzip_stream {
	z_stream z;
	gzip_source_fn source;
	void *arg;
	bool source_done, finished;
	char stage[GZIP_STAGE];     /* uncompressed bytes read from the source */
};

struct gzip_stream *gzip_stream_new(gzip_source_fn source, void *arg)
{
	struct gzip_stream *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	if (deflateInit2(&g->z, GZIP_LEVEL, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		return NULL;
	}
	g->source = source;
	g->arg = arg;
	return g;
}

ssize_t gzip_stream_read(struct gzip_stream *g, char *buf, size_t max)
{
	if (g->finished)
		return 0;
	g->z.next_out = (Bytef *)buf;
	g->z.avail_out = (uInt)(max > UINT32_MAX ? UINT32_MAX : max);
	/* deflate buffers input: keep feeding it until it gives some output */
	while (g->z.avail_out == max) {
		if (g->z.avail_in == 0 && !g->source_done) {
			ssize_t n = g->source(g->arg, g->stage, sizeof g->stage);
			if (n < 0)
				return -1;
			g->source_done = n == 0;
			g->z.next_in = (Bytef *)g->stage;
			g->z.avail_in = (uInt)n;
		}
		int rc = deflate(&g->z, g->source_done ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_END) {
			g->finished = true;
			break;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;
	}
	return (ssize_t)(max - g->z.avail_out);
}

void gzip_stream_free(struct gzip_stream *g)
{
	if (!g)
		return;
	deflateEnd(&g->z);
	free(g);
}

bool gzip_accepted(const char *ae)
{
	for (const char *p = ae; p && *p; p += strcspn(p, ","), p += *p == ',') {
		p += strspn(p, " \t");
		size_t n = strcspn(p, ",; \t");
		if (!((n == 4 && strncasecmp(p, "gzip", 4) == 0) || (n == 1 && *p == '*')))
			continue;
		/* q=0 refuses it */
		const char *q = p + n, *end = p + strcspn(p, ",");
		const char *qp = strstr(q, "q=");
		if (qp && qp < end && strtod(qp + 2, NULL) <= 0)
			return false;
		return true;
	}
	return false;
}
