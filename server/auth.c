/* Bearer tokens to identities: the bootstrap tokens of the environment and
 * the named tokens of control.api_tokens (hashes only). */
#include "server/auth.h"
#include "lib/log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char sql_lookup[] =
	"SELECT id, name, role, secret_sha256 FROM control.api_tokens "
	"WHERE secret_sha256 = $1 AND revoked_at IS NULL";

/* Compares in time that depends only on the length of the token offered. */
static bool token_equal(const char *offered, const char *secret)
{
	if (!secret)
		return false;
	size_t lo = strlen(offered), ls = strlen(secret);
	unsigned diff = (unsigned)(lo ^ ls);
	for (size_t i = 0; i < lo; i++)
		diff |= (unsigned char)offered[i] ^ (unsigned char)secret[i % ls];
	return diff == 0;
}

const char *auth_role_name(enum auth_role r)
{
	return r == ROLE_ADMIN ? "admin" : r == ROLE_OPERATOR ? "operator" : r == ROLE_READER ? "reader" : "public";
}

bool auth_role_parse(const char *s, enum auth_role *out)
{
	static const enum auth_role roles[] = {ROLE_ADMIN, ROLE_OPERATOR, ROLE_READER};
	for (size_t i = 0; s && i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(s, auth_role_name(roles[i])) == 0) {
			*out = roles[i];
			return true;
		}
	return false;
}

void auth_hash_hex(const char *secret, char out[AUTH_HASH_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	out[0] = 0;
	if (!EVP_Digest(secret, strlen(secret), md, &n, EVP_sha256(), NULL) || n != 32)
		return;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int auth_new_secret(char *out, size_t len)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[33] = {0};
	size_t plen = strlen(AUTH_SECRET_PREFIX);
	if (len < plen + 43 + 1 || getrandom(raw, 32, 0) != 32)
		return -1;
	memcpy(out, AUTH_SECRET_PREFIX, plen);
	size_t o = plen;
	for (size_t i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | (i + 2 < 32 ? raw[i + 2] : 0);
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < 32)
			out[o++] = b64url[v & 63];
	}
	out[o] = 0;
	OPENSSL_cleanse(raw, sizeof raw);
	return 0;
}

static enum auth_result lookup_named(struct db_pool *pool, const char *token, struct auth_identity *who)
{
	char hash[AUTH_HASH_HEX];
	auth_hash_hex(token, hash);
	if (!hash[0])
		return AUTH_UNKNOWN;
	PGconn *c = db_acquire(pool, 10000);
	if (!c)
		return AUTH_UNAVAILABLE;
	const char *params[1] = {hash};
	PGresult *r = PQexecParams(c, sql_lookup, 1, NULL, params, NULL, NULL, 0);
	enum auth_result res = AUTH_UNKNOWN;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_json(LOG_ERROR, "token lookup failed", json_pack("{s:s}", "sqlstate", db_sqlstate(r)));
		res = AUTH_UNAVAILABLE;
	} else if (PQntuples(r) == 1 && strlen(PQgetvalue(r, 0, 3)) == strlen(hash) &&
		   CRYPTO_memcmp(PQgetvalue(r, 0, 3), hash, strlen(hash)) == 0 &&
		   auth_role_parse(PQgetvalue(r, 0, 2), &who->role)) {
		who->token_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		snprintf(who->name, sizeof who->name, "%s", PQgetvalue(r, 0, 1));
		res = AUTH_OK;
	}
	PQclear(r);
	db_release(pool, c);
	return res;
}

enum auth_result auth_identify(const struct config *cfg, struct db_pool *pool, const char *token,
			       struct auth_identity *who)
{
	*who = (struct auth_identity){.role = ROLE_PUBLIC};
	/* Check both bootstrap tokens every time so timing does not tell which matched. */
	bool admin = token_equal(token, cfg->admin_token);
	bool reader = token_equal(token, cfg->reader_token);
	if (admin || reader) {
		who->role = admin ? ROLE_ADMIN : ROLE_READER;
		snprintf(who->name, sizeof who->name, "%s", admin ? "bootstrap-admin" : "bootstrap-reader");
		return AUTH_OK;
	}
	/* Only our own secrets are worth a lookup (no lake round trip for junk). */
	if (strncmp(token, AUTH_SECRET_PREFIX, strlen(AUTH_SECRET_PREFIX)) != 0 || strlen(token) > 128)
		return AUTH_UNKNOWN;
	return lookup_named(pool, token, who);
}
