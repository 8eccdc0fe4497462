/* Every HTTP handler, one file per resource; server/routes.c maps paths to them. */
#ifndef LAKE_HANDLERS_H
#define LAKE_HANDLERS_H

#include "server/http.h"

/* health.c */
void handle_healthz(struct http_request *req);
void handle_readyz(struct http_request *req);
void handle_openapi(struct http_request *req);

/* sources.c */
void handle_sources_list(struct http_request *req);
void handle_sources_create(struct http_request *req);
void handle_source_get(struct http_request *req);
void handle_source_patch(struct http_request *req);
void handle_source_delete(struct http_request *req);

#endif
