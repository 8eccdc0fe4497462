#include "lib/sqlident.h"

#include <stdlib.h>
#include <string.h>

static bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

bool sqlident_valid(const char *s)
{
	if (!s || !ident_start(*s) || strlen(s) > SQLIDENT_MAX)
		return false;
	for (; *s; s++)
		if (!ident_char(*s))
			return false;
	return true;
}

char *sqlident_quote(PGconn *c, const char *ident)
{
	char *q = PQescapeIdentifier(c, ident, strlen(ident));
	char *out = q ? strdup(q) : NULL;
	PQfreemem(q);
	return out;
}
