/* Structured logging: one JSON object per line on stderr.
 *
 * Every line has ts, level and msg; callers add fields as a jansson object.
 * Nothing secret goes in: callers never pass tokens, passwords or URLs with
 * credentials (see db_redact_url). */
#ifndef LAKE_LOG_H
#define LAKE_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
/* Writes one line; `fields` (may be NULL) is stolen. */
void log_json(enum log_level level, const char *msg, json_t *fields);
/* Shorthand for a line without fields. */
void log_info(const char *msg);

#endif
