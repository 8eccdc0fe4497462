/* control.api_tokens in the lake: the SQL of the tokens resource. A token
 * goes in as its name, role and secret hash and comes out as JSON without
 * the hash. */
#ifndef LAKE_TOKENS_STORE_H
#define LAKE_TOKENS_STORE_H

#include "control/store.h"

#include <stdbool.h>

/* Inserts a token; *out is it as JSON (STORE_CONFLICT: a live token has the name). */
enum store_result tokens_insert(PGconn *c, const char *name, const char *role, const char *hash_hex,
				const char *created_by, json_t **out, struct store_error *e);
/* Up to `limit` tokens after id `after`, in id order; *more when another page follows. */
enum store_result tokens_list(PGconn *c, long long after, int limit, json_t **items, bool *more,
			      struct store_error *e);
/* Revokes token `id` (a revoked one stays revoked); STORE_NOT_FOUND when none has it. */
enum store_result tokens_revoke(PGconn *c, long long id, const char *revoked_by, struct store_error *e);

#endif
