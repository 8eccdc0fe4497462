/* HTTP GET/POST for API extraction: one libcurl easy handle per load, kept
 * alive across pages, bodies gathered into a size-capped buffer. */
#ifndef LAKE_HTTP_FETCH_H
#define LAKE_HTTP_FETCH_H

#include "lib/dynbuf.h"

#include <curl/curl.h>
#include <stddef.h>

#define FETCH_MAX_BODY (64u * 1024 * 1024)

struct fetch {
	CURL *curl;
	struct dynbuf body;  /* the last response's body, NUL-terminated, capped at FETCH_MAX_BODY */
	long status;         /* 0 when the transfer failed */
	long retry_after;    /* seconds from Retry-After, -1 if absent */
	char error[CURL_ERROR_SIZE];
	int timeout_ms;
	double wait_seconds;  /* total time of every transfer so far */
};

int fetch_init(struct fetch *f, int timeout_ms);
void fetch_cleanup(struct fetch *f);
/* GET url with an optional bearer token. 0 when a response arrived (any
 * status), -1 on a transport failure (error says which). */
int fetch_get(struct fetch *f, const char *url, const char *bearer);
/* POST an x-www-form-urlencoded body with HTTP Basic credentials. */
int fetch_post_form(struct fetch *f, const char *url, const char *user, const char *password,
		    const char *form);

#endif
