/* The process-wide state that handlers and workers share. Built by main()
 * before the listener starts, read-only afterwards except where noted. */
#ifndef LAKE_APP_H
#define LAKE_APP_H

#include "server/config.h"
#include "lib/db.h"

#include <stddef.h>

struct job_pool;
struct scheduler;

struct app {
	struct config cfg;
	struct db_pool *db;        /* connections for HTTP handlers */
	char *openapi_json;        /* the contract, served at /openapi.json */
	size_t openapi_len;
	int migrations_expected;   /* files in sql/migrations at start */
	struct job_pool *jobs;     /* NULL when SHOPPERLAKE_WORKERS=0 */
	struct scheduler *sched;   /* NULL when SHOPPERLAKE_SCHEDULER=0 */
};

#endif
