/* The table of source kinds. */
#include "jobs/sources/kind.h"

#include <string.h>

const struct source_kind *const source_kinds[] = {
	&source_kind_sqlserver,
	&source_kind_postgresql,
	&source_kind_api,
	&source_kind_sftp,
	NULL,
};

const struct source_kind *source_kind_find(const char *name)
{
	for (const struct source_kind *const *k = source_kinds; name && *k; k++)
		if (strcmp((*k)->name, name) == 0)
			return *k;
	return NULL;
}
