/* What the query API knows about the lake's TRUSTED and REFINED layers, read
 * from PostgreSQL's catalog (the only source of identifiers it will quote
 * into SQL). Every statement of the query API's catalog is in catalog.c. */
#ifndef LAKE_QUERY_CATALOG_H
#define LAKE_QUERY_CATALOG_H

#include "lib/db.h"
#include "query/build.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

/* The schemas a table request may name. */
bool query_layer_valid(const char *layer);

/* The pipeline step that asks for the fingerprint of relation `name` of
 * layer `schema` (params: the two names, kept by the caller until the
 * pipeline ran): its oid, columns, primary key, and whether the current
 * role may read it (no row if not). Run it as lake_reader, prepared
 * (query/statements.h). */
struct db_step query_catalog_fingerprint_step(const char *const params[2]);

/* Describes the relation from that step's result: the process-wide cache's
 * copy when the fingerprint is the cached one, else read from the catalog
 * (a statement more) and cached. Returns 1 and fills *t (a copy:
 * query_table_free), 0 when there is no such relation or the role may not
 * read it, -1 on a database error with *res set (the caller PQclears; NULL
 * when out of memory). */
int query_catalog_found(PGconn *c, const char *schema, const char *name, const PGresult *fingerprint,
			struct query_table *t, PGresult **res);

/* The cached description of relation `name` of layer `schema`, as it was
 * when cached (t->fingerprint says when), without asking the database: a
 * guess that the fingerprint must confirm. Returns true and fills *t (a
 * copy: query_table_free), false when none is cached. */
bool query_catalog_cached(const char *schema, const char *name, struct query_table *t);

/* The body of GET /v1/tables: relations lake_reader may read in the layers
 * (`layer` NULL for both) with columns, primary key, row estimate and last
 * refresh. Returns 0 with *items (a new JSON array) or -1 with *res set. */
int query_catalog_list(PGconn *c, const char *layer, json_t **items, PGresult **res);

#endif
