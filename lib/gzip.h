/* gzip (RFC 1952) through zlib, for answers a client accepts compressed:
 * a whole buffer, or a stream pulled through a reader callback. */
#ifndef LAKE_GZIP_H
#define LAKE_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The gzip of `len` bytes (malloc'd, *outlen), or NULL when out of memory. */
char *gzip_buffer(const char *data, size_t len, size_t *outlen);

/* Reads the next bytes of the uncompressed stream into buf: > 0 bytes, 0 at
 * its end, < 0 on an error. */
typedef ssize_t (*gzip_source_fn)(void *arg, char *buf, size_t max);

struct gzip_stream;
struct gzip_stream *gzip_stream_new(gzip_source_fn source, void *arg);
/* The next compressed bytes into buf: > 0 bytes, 0 at the end of the gzip
 * stream, -1 when the source failed or zlib did. */
ssize_t gzip_stream_read(struct gzip_stream *g, char *buf, size_t max);
void gzip_stream_free(struct gzip_stream *g);

/* true when an Accept-Encoding header value accepts gzip (not gzip;q=0). */
bool gzip_accepted(const char *accept_encoding);

#endif
