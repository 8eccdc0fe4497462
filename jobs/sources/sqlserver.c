/* SQL Server sources (the marketplace in production): registered and
 * validated like any relational source; loading them is not implemented
 * yet, so their jobs fail at once with a clear message. */
#include "jobs/sources/kind.h"

const struct source_kind source_kind_sqlserver = {
	.name = "sqlserver",
	.relational = true,
	.default_schema = "dbo",
	.offset_modes = OFFSET_CHANGE_TRACKING | OFFSET_WATERMARK,
	.default_offset_mode = OFFSET_CHANGE_TRACKING,
	.needs_secret = true,
	.extract = NULL,
};
