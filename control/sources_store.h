/* control.sources in the lake: the SQL of the sources resource, in one place.
 * Definitions go in and come out as JSON (control.source_json); values are
 * always bound parameters. */
#ifndef LAKE_SOURCES_STORE_H
#define LAKE_SOURCES_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "control/store.h"

struct source_filter {
	const char *system, *source_type, *active; /* NULL = any; active "true"/"false" */
	const char *health;                        /* a health state or NULL = any */
	const char *now;                           /* the instant health is judged at (ISO 8601) */
	long long after_id;                        /* keyset cursor */
	int limit;
};

/* Inserts a validated definition; *out is the stored source. */
enum store_result sources_insert(PGconn *c, json_t *def, json_t **out, struct store_error *e);
/* With `lock`, the row stays locked (FOR UPDATE) until the caller's
 * transaction ends: read, patch, validate, then sources_update. */
enum store_result sources_get(PGconn *c, long long id, bool lock, json_t **out, struct store_error *e);
/* The source with its "health" (control.source_health) judged at `now`. */
enum store_result sources_get_health(PGconn *c, long long id, const char *now, json_t **out, struct store_error *e);
/* Replaces the definition of `id` with a validated one. */
enum store_result sources_update(PGconn *c, long long id, json_t *def, json_t **out, struct store_error *e);
enum store_result sources_delete(PGconn *c, long long id, struct store_error *e);
/* Another source owning one of the lake tables a definition would use. */
struct lake_owner {
	long long id;        /* 0: none */
	char who[160];       /* its system.object */
	char table[200];     /* the table both would use */
};

/* Looks for a source other than `id` (0 for a new one) owning one of the
 * lake tables of the validated definition `def`: <system>_<object>, its
 * _quarantine, an sftp source's _rejects, an api source's _<child> tables
 * ((mk_lojas, x1) and (mk, lojas_x1) would share mk_lojas_x1). */
enum store_result sources_lake_name_owner(PGconn *c, json_t *def, long long id, struct lake_owner *owner,
					  struct store_error *e);
/* Lists up to f->limit sources after f->after_id, in id order; *more tells
 * whether another page follows. */
enum store_result sources_list(PGconn *c, const struct source_filter *f, json_t **items, bool *more,
			       struct store_error *e);

#endif
