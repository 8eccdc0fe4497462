/* Discovery of a PostgreSQL database (the kind table's .discover for
 * postgresql sources): tables, columns with their TRUSTED types, primary
 * keys and the demo's change tracking (a ct.<table> per tracked table). */
#ifndef LAKE_PG_DISCOVER_H
#define LAKE_PG_DISCOVER_H

#include "jobs/job.h"

#include <jansson.h>

int pg_discover(const char *secret_ref, const char *schema, json_t **out, struct load_error *err);

#endif
