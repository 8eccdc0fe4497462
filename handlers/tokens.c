/* /v1/tokens: named API tokens, made, listed and revoked by an admin. The
 * secret is made here, answered once in the 201 and never again: the lake
 * keeps only its SHA-256 (server/auth.c checks presented tokens). */
#include "control/tokens_store.h"
#include "handlers/handlers.h"
#include "server/auth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

static const char *const json_types[] = {"application/json", NULL};

static bool name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > AUTH_NAME_MAX || strncmp(s, "bootstrap-", 10) == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

/* Reads {name, role}; answers 422 naming the field and returns false when wrong. */
static bool read_token_request(struct http_request *req, json_t *body, const char **name, const char **role)
{
	const char *key;
	json_t *v;
	enum auth_role r;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "name") && strcmp(key, "role")) {
			http_reply_problem(req, 422, "Invalid field", key, NULL, "%.64s is not a field of a token", key);
			return false;
		}
	}
	*name = json_string_value(json_object_get(body, "name"));
	*role = json_string_value(json_object_get(body, "role"));
	if (!name_valid(*name)) {
		http_reply_problem(req, 422, "Invalid field", "name", NULL,
				   "name is required: 1 to %d characters of [A-Za-z0-9_.-], starting with a letter or "
				   "digit, not bootstrap-*", AUTH_NAME_MAX);
		return false;
	}
	if (!auth_role_parse(*role, &r)) {
		http_reply_problem(req, 422, "Invalid field", "role", NULL, "role must be admin, operator or reader");
		return false;
	}
	return true;
}

void handle_tokens_create(struct http_request *req)
{
	const char *name, *role;
	char secret[64] = "", hash[AUTH_HASH_HEX], loc[48];
	json_t *out = NULL;
	struct store_error se;
	PGconn *c = NULL;
	json_t *body = http_body_object(req, json_types);
	if (!body || !read_token_request(req, body, &name, &role))
		goto out;
	if (auth_new_secret(secret, sizeof secret) != 0) {
		http_reply_problem(req, 500, "Internal error", NULL, NULL, "no random bytes for a secret; the log has "
				   "request id %s", req->request_id);
		goto out;
	}
	auth_hash_hex(secret, hash);
	if (!(c = http_db(req)))
		goto out;
	enum store_result r = tokens_insert(c, name, role, hash, req->token_name, &out, &se);
	if (r != STORE_OK) {
		if (r == STORE_CONFLICT)
			http_reply_problem(req, 409, "Conflict", "name", NULL, "%s", se.detail);
		else
			handle_reply_store(req, r, &se, c, "token", NULL);
		PQclear(se.res);
		goto out;
	}
	json_object_set_new(out, "token", json_string(secret));
	snprintf(loc, sizeof loc, "/v1/tokens/%lld", (long long)json_integer_value(json_object_get(out, "id")));
	http_reply_json(req, 201, json_incref(out));
	http_add_header(req, MHD_HTTP_HEADER_LOCATION, loc);
out:
	if (c)
		http_db_done(req, c);
	OPENSSL_cleanse(secret, sizeof secret);
	json_decref(out);
	json_decref(body);
}

void handle_tokens_list(struct http_request *req)
{
	static const char *const allowed[] = {"limit", "cursor", NULL};
	long long limit, cursor;
	if (!http_check_query_names(req, allowed) ||
	    !http_query_int(req, "limit", LIST_LIMIT_DEFAULT, 1, LIST_LIMIT_MAX, &limit) ||
	    !http_query_int(req, "cursor", 0, 0, 999999999999999999LL, &cursor))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	json_t *items;
	bool more;
	enum store_result r = tokens_list(c, cursor, (int)limit, &items, &more, &se);
	if (r == STORE_OK)
		handle_reply_page(req, items, more);
	else
		handle_reply_store(req, r, &se, c, "token", NULL);
	http_db_done(req, c);
}

void handle_token_revoke(struct http_request *req)
{
	long long id;
	if (!http_path_id(req, "id", "token", &id))
		return;
	PGconn *c = http_db(req);
	if (!c)
		return;
	struct store_error se;
	enum store_result r = tokens_revoke(c, id, req->token_name, &se);
	if (r == STORE_OK)
		http_reply_empty(req, 204);
	else
		handle_reply_store(req, r, &se, c, "token", "id");
	http_db_done(req, c);
}

/* GET /v1/me: who the presented token is (its name and role, never its
 * secret), so a client such as the dashboard shows only what it may do. */
void handle_me(struct http_request *req)
{
	http_reply_json(req, 200, json_pack("{s:s, s:s, s:o}", "name", req->token_name, "role",
					    auth_role_name(req->role), "token_id",
					    req->token_id ? json_integer(req->token_id) : json_null()));
}
