/* control.alerts in the lake: the monitoring checks that raise and resolve
 * alerts (control.monitoring_checks in sql/functions/) and the listing of
 * GET /v1/alerts. Delivery to Alertmanager and webhooks is monitor/deliver.c. */
#ifndef LAKE_ALERTS_STORE_H
#define LAKE_ALERTS_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "control/store.h"

/* Runs the checks of `scope` ("all", or "sftp_files": the freshness of sftp
 * sources) at the instant `now` (ISO 8601, the scheduler's clock) inside the
 * caller's transaction; *out is {fired: [...], resolved: [...], firing: n}. */
enum store_result alerts_run_checks(PGconn *c, const char *now, const char *scope, json_t **out,
				    struct store_error *e);

struct alert_filter {
	const char *state;      /* "firing", "resolved" or NULL = both */
	const char *source_id;  /* decimal text or NULL */
	long long before_id;    /* keyset cursor, newest first; 0 = from the newest */
	int limit;
};

/* Lists alerts newest first; *more tells whether another page follows. */
enum store_result alerts_list(PGconn *c, const struct alert_filter *f, json_t **items, bool *more,
			      struct store_error *e);
/* One alert. */
enum store_result alerts_get(PGconn *c, long long id, json_t **out, struct store_error *e);

#endif
