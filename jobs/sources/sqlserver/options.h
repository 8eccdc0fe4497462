/* The options of a sqlserver source, checked when it is registered or
 * changed (not first when a job runs):
 *   packet_size    TDS packet size in bytes, 512 to 32767 (default 4096)
 *   login_timeout  seconds, 1 to 600 (default 15)
 *   query_timeout  seconds without an answer from the source, 0 (none) to
 *                  86400 (default 600)
 *   on_ct_expired  "fail" (default) or "reload": what an incremental load
 *                  does when its offset is older than the table's change
 *                  tracking minimum valid version
 * The first three may also be set in the connection secret's URL; the
 * source's options win. */
#ifndef LAKE_MSSQL_OPTIONS_H
#define LAKE_MSSQL_OPTIONS_H

#include <jansson.h>
#include <stddef.h>

int mssql_options_validate(json_t *source, char *field, size_t fieldlen, char *msg, size_t msglen);

#endif
