/* Discovery of a PostgreSQL database (see postgresql_discover.h). One
 * catalog query builds the whole answer as JSON, in the shape the
 * sqlserver kind answers (openapi/openapi.yaml, Discovery), including each
 * table's `definition` (incremental by change tracking when the table is
 * tracked and has a one-column primary key, else full). Types map to the
 * TRUSTED names the lake accepts; others (arrays, geometry, time with time
 * zone ...) get type null and are left out of the definition. */
#include "jobs/sources/postgresql_discover.h"
#include "lib/db.h"
#include "lib/secret.h"

#include <stdlib.h>
#include <string.h>

static const char DISCOVER_SQL[] =
	"WITH cols AS ("
	" SELECT n.nspname AS sch, c.relname AS obj, a.attnum, a.attname AS name,"
	"  format_type(a.atttypid, a.atttypmod) AS st, NOT a.attnotnull AS nullable,"
	"  coalesce(a.attnum = ANY (i.indkey), false) AS key,"
	"  to_regclass(format('ct.%I', c.relname)) IS NOT NULL AND n.nspname = 'public' AS ct"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	" LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary"
	" WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
	"  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'ct') AND n.nspname NOT LIKE 'pg\\_temp%'"
	"  AND ($1::text IS NULL OR n.nspname = $1)),"
	" typed AS (SELECT *, CASE"
	"  WHEN st LIKE 'timestamp% with time zone' THEN 'timestamptz'"
	"  WHEN st LIKE 'timestamp% without time zone' THEN 'timestamp'"
	"  WHEN st LIKE 'time% without time zone' THEN 'time'"
	"  WHEN st LIKE 'character varying(%' THEN replace(st, 'character varying', 'varchar')"
	"  WHEN st = 'character varying' THEN 'text'"
	"  WHEN st LIKE 'character(%' THEN replace(st, 'character', 'char')"
	"  WHEN st LIKE 'numeric%' OR st IN ('smallint', 'integer', 'bigint', 'real', 'double precision', 'boolean',"
	"   'text', 'date', 'uuid', 'json', 'jsonb', 'bytea', 'interval') THEN st END AS ty FROM cols),"
	" tabs AS (SELECT sch, obj, bool_or(ct) AS ct,"
	"  coalesce(array_agg(name::text ORDER BY attnum) FILTER (WHERE key), '{}') AS pk,"
	"  json_agg(json_build_object('name', name, 'source_type', st, 'type', ty, 'nullable', nullable) ORDER BY attnum) AS columns,"
	"  json_agg(jsonb_strip_nulls(jsonb_build_object('name', name, 'type', ty, 'key', CASE WHEN key THEN true END))"
	"   ORDER BY attnum) FILTER (WHERE ty IS NOT NULL) AS defcols"
	"  FROM typed GROUP BY sch, obj)"
	" SELECT json_build_object('source_type', 'postgresql', 'database', current_database(),"
	"  'snapshot_isolation', true,"
	"  'change_tracking', json_build_object('enabled', to_regnamespace('ct') IS NOT NULL),"
	"  'tables', coalesce(json_agg(json_build_object('schema', sch, 'object', obj, 'columns', columns,"
	"   'primary_key', to_json(pk), 'change_tracking', ct,"
	"   'definition', json_build_object('source_type', 'postgresql', 'database', current_database(),"
	"    'schema', sch, 'object', obj,"
	"    'load_type', CASE WHEN ct AND cardinality(pk) = 1 THEN 'incremental' ELSE 'full' END,"
	"    'offset_mode', CASE WHEN ct AND cardinality(pk) = 1 THEN 'change_tracking' ELSE 'none' END,"
	"    'columns', coalesce(defcols, '[]'))) ORDER BY sch, obj), '[]'))::text"
	" FROM tabs";

int pg_discover(const char *secret_ref, const char *schema, json_t **out, struct load_error *err)
{
	char msg[512], *url = NULL;
	*out = NULL;
	if (secret_resolve(secret_ref, &url, msg, sizeof msg) != 0)
		return load_fail(err, JOB_PERMANENT, "connection_secret: %s", msg);
	PGconn *c = db_connect(url, "shopperlake-discover", msg, sizeof msg);
	explicit_bzero(url, strlen(url));
	free(url);
	if (!c)
		return load_fail(err, strstr(msg, "authentication failed") || strstr(msg, "does not exist") ? JOB_PERMANENT
			: JOB_TRANSIENT, "cannot connect to the source: %s", msg);
	const char *params[1] = {schema};
	PGresult *r = PQexecParams(c, DISCOVER_SQL, 1, NULL, params, NULL, NULL, 0);
	int rc = -1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		load_fail(err, JOB_TRANSIENT, "source catalog: %s", PQresultErrorMessage(r));
	} else {
		*out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
		rc = *out ? 0 : load_fail(err, JOB_TRANSIENT, "source catalog: an answer that is not JSON");
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}
