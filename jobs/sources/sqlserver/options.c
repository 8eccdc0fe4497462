/* Validation of a sqlserver source's options (see options.h). */
#include "jobs/sources/sqlserver/options.h"

#include <stdio.h>
#include <string.h>

int mssql_options_validate(json_t *source, char *field, size_t fieldlen, char *msg, size_t msglen)
{
	json_t *o = json_object_get(source, "options");
	static const struct { const char *name; long long min, max; } ints[] = {
		{"packet_size", 512, 32767},
		{"login_timeout", 1, 600},
		{"query_timeout", 0, 86400},
	};
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		json_t *v = json_object_get(o, ints[i].name);
		if (v && (!json_is_integer(v) || json_integer_value(v) < ints[i].min ||
			  json_integer_value(v) > ints[i].max)) {
			snprintf(field, fieldlen, "options.%s", ints[i].name);
			snprintf(msg, msglen, "must be an integer from %lld to %lld", ints[i].min, ints[i].max);
			return -1;
		}
	}
	json_t *v = json_object_get(o, "on_ct_expired");
	if (v && (!json_is_string(v) || (strcmp(json_string_value(v), "fail") && strcmp(json_string_value(v), "reload")))) {
		snprintf(field, fieldlen, "options.on_ct_expired");
		snprintf(msg, msglen, "must be \"fail\" (the job asks for a full load) or \"reload\" (the job reloads in full)");
		return -1;
	}
	return 0;
}
