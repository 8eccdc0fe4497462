/* SQL of the job queue's API side. Every insert NOTIFYs shopperlake_jobs in
 * the same transaction, so idle workers wake as soon as it commits. */
#include "control/jobs_store.h"
#include "lib/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>



static const char sql_create_load[] =
	"WITH s AS (SELECT id, system || '.' || database || '.' || object AS name "
	"           FROM control.sources WHERE id = $1 AND active "
	"           AND NOT ($2 = 'incremental' AND load_type = 'full')), "
	"ins AS (INSERT INTO control.jobs (source_id, source_name, load_type, idempotency_key, max_attempts) "
	"        SELECT id, name, $2, $3, $4 FROM s "
	"        ON CONFLICT (source_id, idempotency_key) DO NOTHING RETURNING *) "
	"SELECT control.job_json(ins) FROM ins";
static const char sql_by_key[] =
	"SELECT json_build_object('job', control.job_json(j), 'same', j.load_type = $3) "
	"FROM control.jobs j WHERE j.idempotency_key = $1 AND j.source_id = $2";
static const char sql_source_state[] =
	"SELECT json_build_object('active', active, 'load_type', load_type) FROM control.sources WHERE id = $1";
static const char sql_notify[] = "SELECT pg_notify('shopperlake_jobs', 'new')";

static const char sql_list[] =
	"SELECT control.job_json(j) FROM control.jobs j "
	"WHERE ($1::text IS NULL OR j.state = $1) AND ($2::bigint = 0 OR j.source_id = $2) "
	"AND ($3::bigint = 0 OR j.pipeline_run_id = $3) AND ($4::bigint = 0 OR j.id < $4) "
	"ORDER BY j.id DESC LIMIT $5";
static const char sql_get[] = "SELECT control.job_json(j) FROM control.jobs j WHERE j.id = $1";
static const char sql_cancel[] =
	"WITH c AS (UPDATE control.jobs SET "
	"  state = CASE WHEN state = 'JOB_STATE_QUEUED' THEN 'JOB_STATE_CANCELLED' ELSE 'JOB_STATE_CANCELLING' END, "
	"  finished_at = CASE WHEN state = 'JOB_STATE_QUEUED' THEN now() END, "
	"  error_kind = CASE WHEN state = 'JOB_STATE_QUEUED' THEN 'cancelled' END, "
	"  error = CASE WHEN state = 'JOB_STATE_QUEUED' THEN 'cancelled before it started' END "
	"  WHERE id = $1 AND state IN ('JOB_STATE_QUEUED', 'JOB_STATE_RUNNING') RETURNING *), "
	"n AS (SELECT pg_notify('shopperlake_cancel', $1::text)) "
	"SELECT control.job_json(c) FROM c, n";

static const char sql_pipelines[] =
	"SELECT json_build_object('name', s.system || '_' || s.source_type || '_' || s.load_type, "
	"  'system', s.system, 'source_type', s.source_type, 'load_type', s.load_type, "
	"  'sources', count(*), 'max_parallel', max(s.max_parallel_tasks), "
	"  'last_run', (SELECT control.pipeline_run_json(r, false) FROM control.pipeline_runs r "
	"               WHERE r.system = s.system AND r.source_type = s.source_type AND r.load_type = s.load_type "
	"               ORDER BY r.id DESC LIMIT 1)) "
	"FROM control.sources s WHERE s.active GROUP BY s.system, s.source_type, s.load_type "
	"ORDER BY s.system, s.source_type, s.load_type";
static const char sql_run_create[] =
	"WITH src AS (SELECT * FROM control.sources WHERE system = $1 AND source_type = $2 "
	"             AND load_type = $3 AND active), "
	"run AS (INSERT INTO control.pipeline_runs (pipeline, system, source_type, load_type, max_parallel) "
	"        SELECT $4, $1, $2, $3, max(max_parallel_tasks) FROM src HAVING count(*) > 0 RETURNING *), "
	"jobs AS (INSERT INTO control.jobs (source_id, source_name, pipeline_run_id, load_type, max_attempts) "
	"         SELECT src.id, src.system || '.' || src.database || '.' || src.object, run.id, $3, $5 "
	"         FROM src, run ORDER BY src.id RETURNING id) "
	"SELECT to_json(run.id) FROM run";
static const char sql_run_get[] =
	"SELECT control.pipeline_run_json(r, true) FROM control.pipeline_runs r WHERE r.id = $1 AND r.pipeline = $2";
static const char sql_runs_list[] =
	"SELECT control.pipeline_run_json(r, false) FROM control.pipeline_runs r "
	"WHERE r.pipeline = $1 AND ($2::bigint = 0 OR r.id < $2) ORDER BY r.id DESC LIMIT $3";

static bool begin(PGconn *c, struct store_error *e)
{
	char err[256];
	if (db_exec(c, "BEGIN", err, sizeof err) == 0)
		return true;
	memset(e, 0, sizeof *e);
	return false;
}

static enum store_result commit(PGconn *c, enum store_result res, struct store_error *e)
{
	char err[256];
	if (res != STORE_OK) {
		db_rollback(c);
		return res;
	}
	if (db_commit(c, err, sizeof err) != 0) {
		memset(e, 0, sizeof *e);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_result jobs_notify(PGconn *c, struct store_error *e)
{
	enum store_result r = store_command(c, sql_notify, 0, NULL, e);
	return r == STORE_NOT_FOUND ? STORE_OK : r;
}

enum store_result jobs_insert_load(PGconn *c, long long source_id, const char *load_type,
				   const char *idempotency_key, int max_attempts, json_t **out,
				   struct store_error *e)
{
	char id[24], attempts[16];
	snprintf(id, sizeof id, "%lld", source_id);
	snprintf(attempts, sizeof attempts, "%d", max_attempts);
	const char *params[4] = {id, load_type, idempotency_key, attempts};
	return store_one_json(c, sql_create_load, 4, params, out, e);
}

enum store_result jobs_create_load(PGconn *c, long long source_id, const char *load_type,
				   const char *idempotency_key, int max_attempts, json_t **out,
				   bool *replayed, enum load_refusal *refusal, struct store_error *e)
{
	char id[24], attempts[16];
	snprintf(id, sizeof id, "%lld", source_id);
	snprintf(attempts, sizeof attempts, "%d", max_attempts);
	const char *params[4] = {id, load_type, idempotency_key, attempts};
	*out = NULL;
	*replayed = false;
	*refusal = LOAD_OK;

	if (!begin(c, e))
		return STORE_ERROR;
	enum store_result res = jobs_insert_load(c, source_id, load_type, idempotency_key, max_attempts, out, e);
	if (res == STORE_OK)
		return commit(c, jobs_notify(c, e), e);
	if (res != STORE_NOT_FOUND)
		return commit(c, res, e);

	/* Nothing inserted: the key was used before, or the source is missing or inactive. */
	json_t *prior = NULL;
	if (idempotency_key) {
		const char *kp[3] = {idempotency_key, id, load_type};
		res = store_one_json(c, sql_by_key, 3, kp, &prior, e);
		if (res == STORE_OK) {
			if (json_is_true(json_object_get(prior, "same"))) {
				*out = json_incref(json_object_get(prior, "job"));
				*replayed = true;
			} else {
				*refusal = LOAD_KEY_REUSED;
			}
			json_decref(prior);
			return commit(c, *replayed ? STORE_OK : STORE_CONFLICT, e);
		}
	}
	json_t *state = NULL;
	res = store_one_json(c, sql_source_state, 1, params, &state, e);
	if (res == STORE_NOT_FOUND)
		*refusal = LOAD_NO_SOURCE;
	else if (res == STORE_OK)
		*refusal = json_is_true(json_object_get(state, "active")) ? LOAD_FULL_ONLY : LOAD_INACTIVE;
	json_decref(state);
	commit(c, STORE_NOT_FOUND, e);
	return res == STORE_ERROR ? STORE_ERROR : STORE_CONFLICT;
}

enum store_result jobs_list(PGconn *c, const struct job_filter *f, json_t **items, bool *more,
			    struct store_error *e)
{
	char src[24], run[24], before[24], limit[16];
	snprintf(src, sizeof src, "%lld", f->source_id);
	snprintf(run, sizeof run, "%lld", f->pipeline_run_id);
	snprintf(before, sizeof before, "%lld", f->before_id);
	snprintf(limit, sizeof limit, "%d", f->limit + 1);
	const char *params[5] = {f->state, src, run, before, limit};
	enum store_result res = store_json_rows(c, sql_list, 5, params, items, e);
	if (res != STORE_OK)
		return res;
	*more = (int)json_array_size(*items) > f->limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}

enum store_result jobs_get(PGconn *c, long long id, json_t **out, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[1] = {idbuf};
	return store_one_json(c, sql_get, 1, params, out, e);
}

enum store_result jobs_cancel(PGconn *c, long long id, json_t **out, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[1] = {idbuf};
	enum store_result res = store_one_json(c, sql_cancel, 1, params, out, e);
	if (res != STORE_NOT_FOUND)
		return res;
	res = store_one_json(c, sql_get, 1, params, out, e);
	if (res != STORE_OK)
		return res;
	const char *state = json_string_value(json_object_get(*out, "state"));
	if (state && strcmp(state, "JOB_STATE_CANCELLING") == 0)
		return STORE_OK; /* asked twice: same answer */
	snprintf(e->detail, sizeof e->detail, "the job has already ended (%s)", state ? state : "?");
	json_decref(*out);
	*out = NULL;
	return STORE_CONFLICT;
}

enum store_result pipelines_list(PGconn *c, json_t **items, struct store_error *e)
{
	return store_json_rows(c, sql_pipelines, 0, NULL, items, e);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

bool pipeline_name_parse(const char *name, char *system, size_t syslen, const char **source_type,
			 const char **load_type)
{
	static const char *const types[] = {"sqlserver", "postgresql", "api", "sftp", NULL};
	static const char *const loads[] = {"full", "incremental", NULL};
	char suffix[64];
	for (const char *const *l = loads; *l; l++)
		for (const char *const *t = types; *t; t++) {
			snprintf(suffix, sizeof suffix, "_%s_%s", *t, *l);
			if (!ends_with(name, suffix))
				continue;
			size_t n = strlen(name) - strlen(suffix);
			if (n == 0 || n >= syslen)
				return false;
			memcpy(system, name, n);
			system[n] = 0;
			*source_type = *t;
			*load_type = *l;
			return true;
		}
	return false;
}

enum store_result pipeline_run_create(PGconn *c, const char *name, int max_attempts, json_t **out,
				      struct store_error *e)
{
	long long run_id = 0;
	*out = NULL;
	memset(e, 0, sizeof *e);
	if (!begin(c, e))
		return STORE_ERROR;
	enum store_result res = pipeline_run_insert(c, name, max_attempts, &run_id, e);
	if (res == STORE_OK)
		res = jobs_notify(c, e);
	res = commit(c, res, e);
	if (res != STORE_OK)
		return res;
	return pipeline_run_get(c, name, run_id, out, e);
}

enum store_result pipeline_run_insert(PGconn *c, const char *name, int max_attempts, long long *run_id,
				      struct store_error *e)
{
	char system[128], attempts[16];
	const char *type, *load;
	memset(e, 0, sizeof *e);
	if (!pipeline_name_parse(name, system, sizeof system, &type, &load))
		return STORE_NOT_FOUND;
	snprintf(attempts, sizeof attempts, "%d", max_attempts);
	const char *params[5] = {system, type, load, name, attempts};
	json_t *id = NULL;
	enum store_result res = store_one_json(c, sql_run_create, 5, params, &id, e);
	*run_id = res == STORE_OK ? (long long)json_integer_value(id) : 0;
	json_decref(id);
	return res;
}

enum store_result pipeline_run_get(PGconn *c, const char *name, long long run_id, json_t **out,
				   struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", run_id);
	const char *params[2] = {idbuf, name};
	return store_one_json(c, sql_run_get, 2, params, out, e);
}

enum store_result pipeline_runs_list(PGconn *c, const char *name, long long before_id, int limit,
				     json_t **items, bool *more, struct store_error *e)
{
	char before[24], lim[16];
	snprintf(before, sizeof before, "%lld", before_id);
	snprintf(lim, sizeof lim, "%d", limit + 1);
	const char *params[3] = {name, before, lim};
	enum store_result res = store_json_rows(c, sql_runs_list, 3, params, items, e);
	if (res != STORE_OK)
		return res;
	*more = (int)json_array_size(*items) > limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}
