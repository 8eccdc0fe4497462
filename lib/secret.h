/* Secrets by reference: `env:NAME` or `file:/absolute/path`. The value is
 * never stored, logged or returned; callers free it as soon as it is used.
 *
 * Which references are allowed (the policy, set once at start from
 * SHOPPERLAKE_SECRET_PREFIX and SHOPPERLAKE_SECRETS_DIR):
 * - `env:NAME` only when NAME starts with the prefix (default LAKE_SECRET_)
 *   and never a variable of the server's own (SHOPPERLAKE_*), so a source
 *   cannot read the admin token, the lake URL or PATH;
 * - `file:PATH` only for a file inside the secrets directory (default
 *   /run/secrets): no `.`/`..` components, and when read, the real path
 *   (symbolic links followed) must still be inside it.
 * The rule is checked when a source is written and again when a job reads
 * the secret (a row stored before the rule, a link changed since). */
#ifndef LAKE_SECRET_H
#define LAKE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define SECRET_DEFAULT_PREFIX "LAKE_SECRET_"
#define SECRET_DEFAULT_DIR "/run/secrets"

/* Sets the policy (before any thread starts); NULL keeps a default. Returns
 * -1 with a message when the prefix or directory is not acceptable. */
int secret_policy_set(const char *env_prefix, const char *dir, char *err, size_t errlen);
/* Checks a prefix or directory without setting it (for the configuration). */
const char *secret_policy_problem(const char *env_prefix, const char *dir);

/* NULL when `ref` has a supported form and the policy allows it (does not
 * look the secret up); otherwise why not, in words for the user. */
const char *secret_ref_problem(const char *ref);
/* true when secret_ref_problem() is NULL. */
bool secret_ref_valid(const char *ref);
/* Looks up `ref` (policy checked again); on success *value is malloc'd
 * (trailing newline removed). Messages name the reference, never a value. */
int secret_resolve(const char *ref, char **value, char *err, size_t errlen);

#endif
