/* The route table: every endpoint, its method and the role it needs. */
#ifndef LAKE_ROUTES_H
#define LAKE_ROUTES_H

#include "server/router.h"

extern const struct route lake_routes[];
extern const size_t lake_routes_count;

#endif
