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
	long long after_id;                        /* keyset cursor */
	int limit;
};

/* Inserts a validated definition; *out is the stored source. */
enum store_result sources_insert(PGconn *c, json_t *def, json_t **out, struct store_error *e);
/* With `lock`, the row stays locked (FOR UPDATE) until the caller's
 * transaction ends: read, patch, validate, then sources_update. */
enum store_result sources_get(PGconn *c, long long id, bool lock, json_t **out, struct store_error *e);
/* Replaces the definition of `id` with a validated one. */
enum store_result sources_update(PGconn *c, long long id, json_t *def, json_t **out, struct store_error *e);
enum store_result sources_delete(PGconn *c, long long id, struct store_error *e);
/* The id of another source (not `id`; 0 for none) whose lake tables are
 * named like those of `system` and `object` (<system>_<object>), in
 * *other, with its system and object in `who` ("mk_lojas.x1"); 0 in
 * *other when the name is free. */
enum store_result sources_lake_name_owner(PGconn *c, const char *system, const char *object, long long id,
					  long long *other, char *who, size_t wholen, struct store_error *e);
/* Lists up to f->limit sources after f->after_id, in id order; *more tells
 * whether another page follows. */
enum store_result sources_list(PGconn *c, const struct source_filter *f, json_t **items, bool *more,
			       struct store_error *e);

#endif
