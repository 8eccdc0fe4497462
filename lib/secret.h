/* Secrets by reference: `env:NAME` or `file:/absolute/path`. The value is
 * never stored, logged or returned; callers free it as soon as it is used. */
#ifndef LAKE_SECRET_H
#define LAKE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* true when `ref` has a supported form (does not look the secret up). */
bool secret_ref_valid(const char *ref);
/* Looks up `ref`; on success *value is malloc'd (trailing newline removed). */
int secret_resolve(const char *ref, char **value, char *err, size_t errlen);

#endif
