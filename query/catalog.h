/* What the query API knows about the lake's TRUSTED and REFINED layers, read
 * from PostgreSQL's catalog (the only source of identifiers it will quote
 * into SQL). Every statement of the query API's catalog is in catalog.c. */
#ifndef LAKE_QUERY_CATALOG_H
#define LAKE_QUERY_CATALOG_H

#include "query/build.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

/* The schemas a table request may name. */
bool query_layer_valid(const char *layer);

/* Prepares this connection's catalog statement unless it already has it.
 * Run it outside a transaction (query_begin does). Returns 0, or -1 with
 * *res set (the caller PQclears). */
int query_catalog_prepare(PGconn *c, PGresult **res);

/* Describes relation `name` of layer `schema` as the current role sees it
 * (run it after query_begin, so as lake_reader), from the process-wide cache
 * when the table has not changed. Returns 1 and fills *t (a copy:
 * query_table_free), 0 when there is no such relation or the role may not
 * read it, -1 on a database error with *res set (the caller PQclears; NULL
 * when out of memory). */
int query_catalog_table(PGconn *c, const char *schema, const char *name, struct query_table *t,
			PGresult **res);

/* The body of GET /v1/tables: relations lake_reader may read in the layers
 * (`layer` NULL for both) with columns, primary key, row estimate and last
 * refresh. Returns 0 with *items (a new JSON array) or -1 with *res set. */
int query_catalog_list(PGconn *c, const char *layer, json_t **items, PGresult **res);

#endif
