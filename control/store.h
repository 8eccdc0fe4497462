/* Shared shape of the control-schema stores: statements whose rows are one
 * JSON value each, results classified for the HTTP layer. */
#ifndef LAKE_STORE_H
#define LAKE_STORE_H

#include <jansson.h>
#include <libpq-fe.h>

/* STORE_UNREADABLE: a stored row came back as JSON jansson cannot read (a
 * number beyond 64 bits written before the validator refused them): not
 * the lake's fault, so never answered as "retry later". */
enum store_result { STORE_OK, STORE_NOT_FOUND, STORE_CONFLICT, STORE_ERROR, STORE_UNREADABLE };

struct store_error {
	PGresult *res;      /* the failed result (the caller PQclears it), may be NULL */
	char detail[256];   /* for conflicts: what collided */
};

/* Runs a statement whose first column is JSON text; *out gets the first
 * row's value (STORE_NOT_FOUND when there is no row). */
enum store_result store_one_json(PGconn *c, const char *sql, int n, const char *const *params,
				 json_t **out, struct store_error *e);
/* Like store_one_json but collects every row into a new array. */
enum store_result store_json_rows(PGconn *c, const char *sql, int n, const char *const *params,
				  json_t **out, struct store_error *e);
/* Runs a command; STORE_NOT_FOUND when it touched no row. */
enum store_result store_command(PGconn *c, const char *sql, int n, const char *const *params,
				struct store_error *e);

#endif
