/* SQL for control.api_tokens. Values are always bound parameters. */
#include "control/tokens_store.h"

#include <stdio.h>

#define TOKEN_JSON \
	"json_build_object('id', t.id, 'name', t.name, 'role', t.role, 'created_at', t.created_at, " \
	"'created_by', t.created_by, 'revoked_at', t.revoked_at, 'revoked_by', t.revoked_by)"

static const char sql_insert[] =
	"INSERT INTO control.api_tokens AS t (name, role, secret_sha256, created_by) VALUES ($1, $2, $3, $4) "
	"RETURNING " TOKEN_JSON;
static const char sql_list[] =
	"SELECT " TOKEN_JSON " FROM control.api_tokens t WHERE t.id > $1 ORDER BY t.id LIMIT $2";
static const char sql_revoke[] =
	"UPDATE control.api_tokens SET revoked_at = coalesce(revoked_at, now()), "
	"revoked_by = coalesce(revoked_by, $2) WHERE id = $1";

enum store_result tokens_insert(PGconn *c, const char *name, const char *role, const char *hash_hex,
				const char *created_by, json_t **out, struct store_error *e)
{
	const char *params[4] = {name, role, hash_hex, created_by};
	enum store_result r = store_one_json(c, sql_insert, 4, params, out, e);
	if (r == STORE_CONFLICT)
		snprintf(e->detail, sizeof e->detail, "a token named %.64s already exists; revoke it first or "
			 "choose another name", name);
	return r;
}

enum store_result tokens_list(PGconn *c, long long after, int limit, json_t **items, bool *more,
			      struct store_error *e)
{
	char a[24], l[16];
	snprintf(a, sizeof a, "%lld", after);
	snprintf(l, sizeof l, "%d", limit + 1);
	const char *params[2] = {a, l};
	enum store_result r = store_json_rows(c, sql_list, 2, params, items, e);
	if (r != STORE_OK)
		return r;
	*more = (int)json_array_size(*items) > limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}

enum store_result tokens_revoke(PGconn *c, long long id, const char *revoked_by, struct store_error *e)
{
	char idbuf[24];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[2] = {idbuf, revoked_by};
	return store_command(c, sql_revoke, 2, params, e);
}
