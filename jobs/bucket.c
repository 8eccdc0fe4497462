/* The bucket: the directory where loads keep the files they received, as
 * <bucket>/<system>/<object>/dt=YYYY-MM-DD (the day of the load, UTC). */
#include "jobs/extract.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int extract_bucket_dir(struct worker_slot *w, json_t *source, char *dir, size_t len, struct load_error *err)
{
	char day[16];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	snprintf(dir, len, "%s/%s/%s/dt=%s", w->app->cfg.bucket_dir,
		 json_string_value(json_object_get(source, "system")),
		 json_string_value(json_object_get(source, "object")), day);
	if (util_make_dirs(dir) != 0)
		return load_fail(err, JOB_TRANSIENT, "cannot create bucket directory %s: %s", dir, strerror(errno));
	return 0;
}
