/* Validation of a source definition (the control table's row as JSON).
 *
 * source_validate() checks a complete definition, fills the defaults in
 * place and reports the first problem with the path of the offending field
 * ("columns[2].name"). It never touches the database: unit-tested. */
#ifndef LAKE_SOURCE_VALIDATE_H
#define LAKE_SOURCE_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

struct validation_error {
	char field[128];
	char message[256];
};

/* 0 when `src` is a valid definition (defaults now filled in), -1 otherwise. */
int source_validate(json_t *src, struct validation_error *err);

/* RFC 7396 merge patch of `patch` onto a copy of `current`. Read-only fields
 * (id, created_at, updated_at) in the patch are an error. Returns the new
 * object or NULL with err set. */
json_t *source_merge_patch(const json_t *current, const json_t *patch, struct validation_error *err);

/* The column type, normalised (lowercase, single spaces), or NULL if it is
 * not one we can cast to in TRUSTED. `buf` receives the normal form. */
const char *source_column_type(const char *type, char *buf, size_t len);

#endif
