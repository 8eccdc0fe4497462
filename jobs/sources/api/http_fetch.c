/* libcurl wrapper for the API extractor: keep-alive, timeouts, a body cap
 * (a runaway response fails instead of eating memory), Retry-After. */
#include "jobs/sources/api/http_fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;
	/* a short count aborts the transfer: CURLE_WRITE_ERROR */
	return dynbuf_add(&f->body, data, len) ? len : 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;
	if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0)
		f->retry_after = strtol(line + 12, NULL, 10);
	return len;
}

int fetch_init(struct fetch *f, int timeout_ms)
{
	memset(f, 0, sizeof *f);
	f->timeout_ms = timeout_ms;
	f->curl = curl_easy_init();
	return f->curl ? 0 : -1;
}

void fetch_cleanup(struct fetch *f)
{
	if (f->curl)
		curl_easy_cleanup(f->curl);
	dynbuf_free(&f->body);
	memset(f, 0, sizeof *f);
}

static int perform(struct fetch *f, const char *url, struct curl_slist *headers)
{
	dynbuf_free(&f->body);
	dynbuf_init(&f->body, FETCH_MAX_BODY);
	f->status = 0;
	f->retry_after = -1;
	f->error[0] = 0;
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(f->curl, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, f->error);
	curl_easy_setopt(f->curl, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
	curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->curl, CURLOPT_ACCEPT_ENCODING, "");
	CURLcode rc = curl_easy_perform(f->curl);
	curl_off_t us = 0;
	if (curl_easy_getinfo(f->curl, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK)
		f->wait_seconds += (double)us / 1e6;
	if (rc != CURLE_OK) {
		if (!f->error[0])
			snprintf(f->error, sizeof f->error, "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &f->status);
	if (!dynbuf_reserve(&f->body, 0))  /* a body, "" when the answer had none */
		return -1;
	return 0;
}

int fetch_get(struct fetch *f, const char *url, const char *bearer)
{
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	char auth[4096];
	if (bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(f->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(f->curl, CURLOPT_HTTPAUTH, CURLAUTH_NONE);
	int rc = perform(f, url, h);
	curl_slist_free_all(h);
	memset(auth, 0, sizeof auth);
	return rc;
}

int fetch_post_form(struct fetch *f, const char *url, const char *user, const char *password,
		    const char *form)
{
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(f->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	curl_easy_setopt(f->curl, CURLOPT_USERNAME, user);
	curl_easy_setopt(f->curl, CURLOPT_PASSWORD, password);
	int rc = perform(f, url, h);
	curl_easy_setopt(f->curl, CURLOPT_USERNAME, NULL);
	curl_easy_setopt(f->curl, CURLOPT_PASSWORD, NULL);
	curl_easy_setopt(f->curl, CURLOPT_HTTPAUTH, CURLAUTH_NONE);
	curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(h);
	return rc;
}
