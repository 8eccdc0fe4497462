/* Validation of an api source's options (see options.h). */
#include "jobs/sources/api/options.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int fail(char *field, size_t fieldlen, const char *name, char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int fail(char *field, size_t fieldlen, const char *name, char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;
	snprintf(field, fieldlen, "options.%s", name);
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/* An absolute http(s) URL with a host, as libcurl parses it. */
static bool http_url(const char *s)
{
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		return false;
	CURLU *u = curl_url();
	char *host = NULL;
	bool ok = u && curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

static bool url_path(const char *s)
{
	return s[0] == '/' && strlen(s) < 200 && !strpbrk(s, " \t\r\n?#");
}

int api_options_validate(json_t *source, char *field, size_t fieldlen, char *msg, size_t msglen)
{
	json_t *o = json_object_get(source, "options");
	json_t *v = json_object_get(o, "base_url");
	if (!json_is_string(v) || !http_url(json_string_value(v)) || strlen(json_string_value(v)) > 1000)
		return fail(field, fieldlen, "base_url", msg, msglen, "must be an http(s) URL of the API (e.g. http://127.0.0.1:8090)");
	static const char *const paths[] = {"endpoint", "token_path", NULL};
	for (const char *const *p = paths; *p; p++) {
		v = json_object_get(o, *p);
		if (v && (!json_is_string(v) || !url_path(json_string_value(v))))
			return fail(field, fieldlen, *p, msg, msglen, "must be a path starting with / (no query)");
	}
	static const struct { const char *name; long long min, max; } ints[] = {
		{"page_size", 1, 10000},
		{"max_retries", 0, 50},
	};
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		v = json_object_get(o, ints[i].name);
		if (v && (!json_is_integer(v) || json_integer_value(v) < ints[i].min || json_integer_value(v) > ints[i].max))
			return fail(field, fieldlen, ints[i].name, msg, msglen, "must be an integer from %lld to %lld",
				    ints[i].min, ints[i].max);
	}
	return 0;
}
