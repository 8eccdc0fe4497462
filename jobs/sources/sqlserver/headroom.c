/* Change Tracking headroom of a SQL Server source, for the monitoring
 * checks: the database's change-tracking retention (sys.change_tracking_
 * databases) and the table's minimum valid version, set against the stored
 * offset. Its own short connection; nothing of the secret in err. */
#include "jobs/sources/sqlserver/headroom.h"
#include "jobs/sources/sqlserver/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int to_ll(const char *text, long long *v)
{
	char *end;
	errno = 0;
	*v = text ? strtoll(text, &end, 10) : 0;
	return text && !errno && end != text && !*end ? 0 : -1;
}

/* Reads one whole-number value; -1 with err when it is missing. */
static int read_number(struct mssql_conn *c, const char *sql, long long *v, const char *what, char *err,
		       size_t errlen)
{
	struct load_error le = {0};
	char *text = NULL;
	int rc = mssql_value(c, sql, &text, &le, what);
	if (rc == 0 && to_ll(text, v) != 0) {
		snprintf(le.message, sizeof le.message, "%s: the source answered no number (is change tracking on?)",
			 what);
		rc = -1;
	}
	if (rc != 0)
		snprintf(err, errlen, "%s", le.message);
	free(text);
	return rc;
}

int mssql_ct_headroom(json_t *source, struct ct_headroom *out, char *err, size_t errlen)
{
	*out = (struct ct_headroom){0};
	if (to_ll(json_string_value(json_object_get(source, "last_offset")), &out->offset_version) != 0) {
		snprintf(err, errlen, "the source has no change tracking offset yet");
		return -1;
	}
	struct mssql_conn c = {0};
	struct load_error le = {0};
	if (mssql_connect(&c, json_string_value(json_object_get(source, "connection_secret")),
			  json_object_get(source, "options"), NULL, &le) != 0) {
		snprintf(err, errlen, "%s", le.message);
		return -1;
	}
	int rc = -1;
	char sql[700], *qschema = mssql_quote_ident(json_string_value(json_object_get(source, "schema")));
	char *qobject = mssql_quote_ident(json_string_value(json_object_get(source, "object")));
	char *qtable = NULL, *qname = NULL;
	if (!qschema || !qobject || asprintf(&qtable, "%s.%s", qschema, qobject) < 0 || !(qname = mssql_quote_string(qtable))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	long long period, units;
	snprintf(sql, sizeof sql, "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(%s))", qname);
	if (read_number(&c, sql, &out->min_valid_version, "the minimum valid version", err, errlen) != 0 ||
	    read_number(&c, "SELECT retention_period FROM sys.change_tracking_databases WHERE database_id = DB_ID()",
			&period, "the change tracking retention", err, errlen) != 0 ||
	    read_number(&c, "SELECT retention_period_units FROM sys.change_tracking_databases WHERE database_id = DB_ID()",
			&units, "the change tracking retention's unit", err, errlen) != 0)
		goto out;
	/* SQL Server's units: 1 minutes, 2 hours, 3 days */
	static const long long unit_seconds[] = {0, 60, 3600, 86400};
	if (units < 1 || units > 3 || period < 0) {
		snprintf(err, errlen, "the source answered an unknown retention unit %lld", units);
		goto out;
	}
	out->retention_seconds = period * unit_seconds[units];
	out->offset_lost = out->offset_version < out->min_valid_version;
	rc = 0;
out:
	mssql_close(&c);
	free(qschema);
	free(qobject);
	free(qtable);
	free(qname);
	return rc;
}
