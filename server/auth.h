/* Who is calling: a bearer token to a role and a name.
 *
 * Two kinds of token. The bootstrap tokens come from the environment
 * (SHOPPERLAKE_ADMIN_TOKEN, SHOPPERLAKE_READER_TOKEN) and are named
 * `bootstrap-admin` and `bootstrap-reader`. Named tokens are made by an
 * admin over the API (POST /v1/tokens) and kept in control.api_tokens as
 * the SHA-256 of their secret only. A presented token is compared with both
 * bootstrap tokens in constant time; otherwise its hash is looked up among
 * the named tokens not revoked and compared again in constant time. The
 * name (never the secret) goes into every request log line and the request
 * context, for handlers and a later audit log. */
#ifndef LAKE_AUTH_H
#define LAKE_AUTH_H

#include "server/config.h"
#include "lib/db.h"
#include "server/router.h"

#include <stdbool.h>
#include <stddef.h>

#define AUTH_NAME_MAX 64
#define AUTH_SECRET_PREFIX "slk_"
#define AUTH_HASH_HEX 65          /* 64 hex characters and the NUL */

struct auth_identity {
	enum auth_role role;      /* ROLE_PUBLIC when the token is unknown */
	long long token_id;       /* 0 for a bootstrap token */
	char name[AUTH_NAME_MAX + 1];
};

enum auth_result { AUTH_OK, AUTH_UNKNOWN, AUTH_UNAVAILABLE };

/* Identifies `token` (the text after "Bearer "). AUTH_UNAVAILABLE when a
 * named token had to be looked up and the lake could not answer. */
enum auth_result auth_identify(const struct config *cfg, struct db_pool *pool, const char *token,
			       struct auth_identity *who);

/* A fresh secret: "slk_" and 43 base64url characters (32 random bytes).
 * `len` must be at least 48. 0 or -1. */
int auth_new_secret(char *out, size_t len);
/* The SHA-256 of `secret` as lowercase hex: what control.api_tokens keeps. */
void auth_hash_hex(const char *secret, char out[AUTH_HASH_HEX]);

/* "admin", "operator", "reader" (and "public"). */
const char *auth_role_name(enum auth_role r);
/* false when `s` names no role a token may have. */
bool auth_role_parse(const char *s, enum auth_role *out);

#endif
