/* SQL for control.schedules and the API side of control.schedule_runs. */
#include "control/schedules_store.h"
#include "lib/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEDULE_VALUES_FROM_JSON \
	"j->>'name', j->>'pipeline', (j->>'source_id')::bigint, j->>'load_type', j->>'task', j->>'cron', " \
	"$2::integer[], $3::integer[], $4::integer[], $5::integer[], $6::integer[], $7::boolean, " \
	"$8::boolean, $9::boolean, j->>'timezone', (j->>'active')::boolean, j->>'catchup', " \
	"(j->>'catchup_limit')::integer, (j->>'max_active_runs')::integer, $10::integer, " \
	"(j->>'retries')::integer, $11::integer"
#define SCHEDULE_COLUMNS \
	"name, pipeline, source_id, load_type, task, cron, cron_minutes, cron_hours, cron_doms, " \
	"cron_months, cron_dows, cron_dom_any, cron_dow_any, cron_fixed, timezone, active, catchup, " \
	"catchup_limit, max_active_runs, deadline_seconds, retries, retry_delay_seconds"

static const char sql_tz[] = "SELECT to_json(EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1))";
static const char sql_insert[] =
	"INSERT INTO control.schedules (" SCHEDULE_COLUMNS ") "
	"SELECT " SCHEDULE_VALUES_FROM_JSON " FROM (SELECT $1::jsonb AS j) AS d RETURNING to_json(id)";
static const char sql_update[] =
	"UPDATE control.schedules SET (" SCHEDULE_COLUMNS ", updated_at) = "
	"(SELECT " SCHEDULE_VALUES_FROM_JSON ", now() FROM (SELECT $1::jsonb AS j) AS d) "
	"WHERE id = $12 RETURNING to_json(id)";
static const char sql_first_fire[] =
	"UPDATE control.schedules s SET next_fire_at = "
	"  (SELECT f FROM control.schedule_fires(s, $2::timestamptz, NULL, 1) f) "
	"WHERE s.id = $1 RETURNING control.schedule_json(s, $2::timestamptz)";
static const char sql_get[] =
	"SELECT control.schedule_json(s, $2::timestamptz) FROM control.schedules s WHERE s.id = $1";
static const char sql_get_locked[] =
	"SELECT control.schedule_json(s, $2::timestamptz) FROM control.schedules s WHERE s.id = $1 FOR UPDATE";
static const char sql_list[] =
	"SELECT control.schedule_json(s, $3::timestamptz) FROM control.schedules s "
	"WHERE s.id > $1 ORDER BY s.id LIMIT $2";
static const char sql_delete[] = "DELETE FROM control.schedules WHERE id = $1";
static const char sql_runs[] =
	"SELECT control.schedule_run_json(r) FROM control.schedule_runs r "
	"WHERE r.schedule_id = $1 AND ($2::bigint = 0 OR r.id < $2) ORDER BY r.id DESC LIMIT $3";
static const char sql_exists[] = "SELECT 'true' FROM control.schedules WHERE id = $1";

enum store_result schedules_timezone_known(PGconn *c, const char *tz, bool *known, struct store_error *e)
{
	const char *params[1] = {tz};
	json_t *v = NULL;
	enum store_result r = store_one_json(c, sql_tz, 1, params, &v, e);
	*known = r == STORE_OK && json_is_true(v);
	json_decref(v);
	return r;
}

/* The statement's parameters: the definition, the cron's sets, the
 * durations; `id` ($12) for an update. Strings live in `buf`. */
struct row_params {
	char *def;
	char sets[5][256], bools[3][8], deadline[24], delay[24], id[24];
	const char *v[12];
};

static void row_params(struct row_params *rp, json_t *def, const struct schedule_parsed *p, long long id)
{
	const struct cron_spec *cr = &p->cron;
	rp->def = json_dumps(def, JSON_COMPACT);
	cron_set_text(cr->minutes, 0, 59, rp->sets[0], sizeof rp->sets[0]);
	cron_set_text(cr->hours, 0, 23, rp->sets[1], sizeof rp->sets[1]);
	cron_set_text(cr->doms, 1, 31, rp->sets[2], sizeof rp->sets[2]);
	cron_set_text(cr->months, 1, 12, rp->sets[3], sizeof rp->sets[3]);
	cron_set_text(cr->dows, 0, 6, rp->sets[4], sizeof rp->sets[4]);
	snprintf(rp->bools[0], sizeof rp->bools[0], "%s", cr->dom_any ? "true" : "false");
	snprintf(rp->bools[1], sizeof rp->bools[1], "%s", cr->dow_any ? "true" : "false");
	snprintf(rp->bools[2], sizeof rp->bools[2], "%s", cr->fixed ? "true" : "false");
	snprintf(rp->deadline, sizeof rp->deadline, "%lld", p->deadline_secs);
	snprintf(rp->delay, sizeof rp->delay, "%lld", p->retry_delay_secs);
	snprintf(rp->id, sizeof rp->id, "%lld", id);
	rp->v[0] = rp->def;
	for (int i = 0; i < 5; i++)
		rp->v[1 + i] = rp->sets[i];
	for (int i = 0; i < 3; i++)
		rp->v[6 + i] = rp->bools[i];
	rp->v[9] = p->deadline_secs < 0 ? NULL : rp->deadline;
	rp->v[10] = rp->delay;
	rp->v[11] = rp->id;
}

/* Sets the first fire after `clock` and answers the schedule. */
static enum store_result first_fire(PGconn *c, long long id, const char *clock, json_t **out,
				    struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[2] = {idbuf, clock};
	return store_one_json(c, sql_first_fire, 2, params, out, e);
}

enum store_result schedules_insert(PGconn *c, json_t *def, const struct schedule_parsed *p,
				   const char *clock, json_t **out, struct store_error *e)
{
	struct row_params rp;
	json_t *id = NULL;
	char err[256];
	*out = NULL;
	row_params(&rp, def, p, 0);
	memset(e, 0, sizeof *e);
	enum store_result res = STORE_ERROR;
	if (db_exec(c, "BEGIN", err, sizeof err) != 0)
		goto out;
	res = store_one_json(c, sql_insert, 11, rp.v, &id, e);
	if (res == STORE_OK)
		res = first_fire(c, (long long)json_integer_value(id), clock, out, e);
	if (res == STORE_OK && db_commit(c, err, sizeof err) != 0)
		res = STORE_ERROR;
	if (res != STORE_OK) {
		db_rollback(c);
		json_decref(*out);
		*out = NULL;
	}
out:
	json_decref(id);
	free(rp.def);
	return res;
}

enum store_result schedules_get(PGconn *c, long long id, const char *clock, bool lock, json_t **out,
				struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[2] = {idbuf, clock};
	return store_one_json(c, lock ? sql_get_locked : sql_get, 2, params, out, e);
}

enum store_result schedules_list(PGconn *c, long long after_id, int limit, const char *clock,
				 json_t **items, bool *more, struct store_error *e)
{
	char after[24], lim[16];
	snprintf(after, sizeof after, "%lld", after_id);
	snprintf(lim, sizeof lim, "%d", limit + 1);
	const char *params[3] = {after, lim, clock};
	enum store_result res = store_json_rows(c, sql_list, 3, params, items, e);
	if (res != STORE_OK)
		return res;
	*more = (int)json_array_size(*items) > limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}

enum store_result schedules_update(PGconn *c, long long id, json_t *def, const struct schedule_parsed *p,
				   bool reschedule, const char *clock, json_t **out, struct store_error *e)
{
	struct row_params rp;
	json_t *done = NULL;
	row_params(&rp, def, p, id);
	enum store_result res = store_one_json(c, sql_update, 12, rp.v, &done, e);
	json_decref(done);
	free(rp.def);
	if (res != STORE_OK)
		return res;
	if (reschedule)
		return first_fire(c, id, clock, out, e);
	return schedules_get(c, id, clock, false, out, e);
}

enum store_result schedules_delete(PGconn *c, long long id, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[1] = {idbuf};
	return store_command(c, sql_delete, 1, params, e);
}

enum store_result schedule_runs_list(PGconn *c, long long id, long long before_id, int limit,
				     json_t **items, bool *more, struct store_error *e)
{
	char idbuf[24], before[24], lim[16];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	snprintf(before, sizeof before, "%lld", before_id);
	snprintf(lim, sizeof lim, "%d", limit + 1);
	const char *params[3] = {idbuf, before, lim};
	enum store_result res = store_json_rows(c, sql_runs, 3, params, items, e);
	if (res != STORE_OK)
		return res;
	if (json_array_size(*items) == 0) {
		json_t *exists = NULL;
		res = store_one_json(c, sql_exists, 1, params, &exists, e);
		json_decref(exists);
		if (res != STORE_OK) {
			json_decref(*items);
			*items = NULL;
			return res;
		}
	}
	*more = (int)json_array_size(*items) > limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}
