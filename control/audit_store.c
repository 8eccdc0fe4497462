/* SQL for control.audit_events (see audit_store.h). */
#include "control/audit_store.h"

#include <stdio.h>

static const char sql_list[] =
	"SELECT control.audit_json(e) FROM control.audit_events e "
	"WHERE ($1::text IS NULL OR e.entity = $1) AND ($2::text IS NULL OR e.entity_id = $2) "
	"AND ($3::bigint = 0 OR e.id < $3) ORDER BY e.id DESC LIMIT $4";

enum store_result audit_list(PGconn *c, const struct audit_filter *f, json_t **items, bool *more,
			     struct store_error *e)
{
	char before[24], limit[16];
	snprintf(before, sizeof before, "%lld", f->before_id);
	snprintf(limit, sizeof limit, "%d", f->limit + 1);
	const char *params[4] = {f->entity, f->entity_id, before, limit};
	enum store_result r = store_json_rows(c, sql_list, 4, params, items, e);
	if (r != STORE_OK)
		return r;
	*more = (int)json_array_size(*items) > f->limit;
	if (*more)
		json_array_remove(*items, json_array_size(*items) - 1);
	return STORE_OK;
}
