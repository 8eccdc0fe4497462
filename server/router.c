/* Segment-by-segment matching of a path against route patterns. A pattern
 * whose last segment is "*" is a prefix: it matches that path with or
 * without the slash and anything below it, and the rest ("" or "a/b.js") is
 * the parameter "*". */
#include "server/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Copies a path segment of length len into out. libmicrohttpd has already
 * percent-decoded the path, so decoding again here would decode twice. */
static bool copy_segment(const char *seg, size_t len, char *out, size_t outlen)
{
	if (len + 1 > outlen || memchr(seg, 0, len))
		return false;
	memcpy(out, seg, len);
	out[len] = 0;
	return true;
}

/* The prefix of a pattern ending in a "*" segment matched up to u: the rest of the
 * path (after its slash) becomes the parameter "*". */
static bool match_rest(const char *u, struct route_params *params)
{
	if (*u == '/')
		u++;
	else if (*u)
		return false;
	if (params->count >= ROUTE_MAX_PARAMS)
		return false;
	int i = params->count;
	snprintf(params->names[i], sizeof params->names[i], "*");
	if (!copy_segment(u, strlen(u), params->values[i], sizeof params->values[i]))
		return false;
	params->count++;
	return true;
}

static bool match_pattern(const char *pattern, const char *path, struct route_params *params)
{
	params->count = 0;
	const char *p = pattern, *u = path;
	while (*p && *u) {
		if (strcmp(p, "/*") == 0)
			return match_rest(u, params);
		if (*p != '/' || *u != '/')
			return false;
		p++, u++;
		size_t plen = strcspn(p, "/"), ulen = strcspn(u, "/");
		if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
			if (ulen == 0 || params->count >= ROUTE_MAX_PARAMS)
				return false;
			int i = params->count;
			snprintf(params->names[i], sizeof params->names[i], "%.*s", (int)(plen - 2), p + 1);
			if (!copy_segment(u, ulen, params->values[i], sizeof params->values[i]))
				return false;
			params->count++;
		} else if (plen != ulen || strncmp(p, u, plen) != 0) {
			return false;
		}
		p += plen, u += ulen;
	}
	if (*u == 0 && strcmp(p, "/*") == 0)
		return match_rest(u, params);
	return *p == 0 && *u == 0;
}

enum route_result router_match(const struct route *table, size_t n, const char *method,
			       const char *path, const struct route **found,
			       struct route_params *params, char *allow, size_t allowlen)
{
	struct route_params scratch;
	bool path_known = false;
	size_t used = 0;

	*found = NULL;
	if (allowlen)
		allow[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (!match_pattern(table[i].pattern, path, &scratch))
			continue;
		/* HEAD is GET without the body (libmicrohttpd leaves the body out) */
		bool get = strcmp(table[i].method, "GET") == 0;
		if (strcmp(table[i].method, method) == 0 || (get && strcmp(method, "HEAD") == 0)) {
			*found = &table[i];
			*params = scratch;
			return ROUTE_FOUND;
		}
		path_known = true;
		if (used < allowlen) {
			int w = snprintf(allow + used, allowlen - used, "%s%s%s", used ? ", " : "", table[i].method,
					 get ? ", HEAD" : "");
			used += w > 0 ? (size_t)w : 0;
		}
	}
	return path_known ? ROUTE_METHOD_NOT_ALLOWED : ROUTE_NOT_FOUND;
}

const char *route_param(const struct route_params *params, const char *name)
{
	for (int i = 0; i < params->count; i++)
		if (strcmp(params->names[i], name) == 0)
			return params->values[i];
	return NULL;
}
