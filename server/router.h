/* Maps (method, path) to a route. Patterns are literal segments or `{name}`
 * placeholders, e.g. "/v1/sources/{id}"; a pattern whose last segment is
 * "*" (the dashboard's "/ui/" followed by "*") matches its prefix and
 * everything below it, the rest of the path being the parameter "*". Pure functions: unit-tested. */
#ifndef LAKE_ROUTER_H
#define LAKE_ROUTER_H

#include <stddef.h>

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_MAX 256

/* Each role may do what the ones below it may: a reader reads, an operator
 * also runs and cancels loads and pipelines, an admin also changes
 * definitions and tokens. */
enum auth_role { ROLE_PUBLIC = 0, ROLE_READER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

struct http_request;
typedef void (*http_handler)(struct http_request *req);

struct route {
	const char *method;
	const char *pattern;
	enum auth_role min_role;
	http_handler handler;
};

struct route_params {
	int count;
	char names[ROUTE_MAX_PARAMS][32];
	char values[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX];
};

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

/* Finds the route for method and path. On ROUTE_METHOD_NOT_ALLOWED, `allow`
 * receives the methods the path accepts ("GET, POST"). A segment longer than ROUTE_PARAM_MAX matches nothing. */
enum route_result router_match(const struct route *table, size_t n, const char *method,
			       const char *path, const struct route **found,
			       struct route_params *params, char *allow, size_t allowlen);

/* The value of placeholder `name`, or NULL. */
const char *route_param(const struct route_params *params, const char *name);

#endif
