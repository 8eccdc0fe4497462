/* control.audit_events in the lake: the listing of GET /v1/audit. The
 * events themselves are written by the lake (the trigger control.audit_row
 * and control.sql_files_sync), never by C code. */
#ifndef LAKE_AUDIT_STORE_H
#define LAKE_AUDIT_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "control/store.h"

struct audit_filter {
	const char *entity;     /* source, schedule, token, sql_file or NULL = all */
	const char *entity_id;  /* NULL = any */
	long long before_id;    /* keyset cursor, newest first; 0 = from the newest */
	int limit;
};

/* Lists events newest first; *more tells whether another page follows. */
enum store_result audit_list(PGconn *c, const struct audit_filter *f, json_t **items, bool *more,
			     struct store_error *e);

#endif
