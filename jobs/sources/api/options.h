/* The options of an api source, checked when it is registered or changed
 * (not first when a job runs):
 *   base_url     http(s) URL of the API, required
 *   endpoint     path of the records, default /v1/<object>
 *   token_path   path of the OAuth token endpoint, default /oauth/token
 *   page_size    records per page, 1 to 10000 (default 500)
 *   max_retries  retries of a failed page, 0 to 50 (default 6) */
#ifndef LAKE_API_OPTIONS_H
#define LAKE_API_OPTIONS_H

#include <jansson.h>
#include <stddef.h>

int api_options_validate(json_t *source, char *field, size_t fieldlen, char *msg, size_t msglen);

#endif
