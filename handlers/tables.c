/* /v1/tables: the TRUSTED and REFINED layers, read-only.
 *
 * GET /v1/tables lists what the reader role may query; GET
 * /v1/tables/{layer}/{table} answers rows (query/query.h has the syntax).
 * A table request runs in one read-only transaction as lake_reader: the
 * catalog lookup, then a page of up to QUERY_WHOLE_PAGE_MAX rows read whole
 * in one statement (with one row more, which tells whether a next page
 * exists), or for longer pages and exports the probe for the next cursor
 * and the rows read from a cursor in batches; either is handed to
 * libmicrohttpd as a chunked response that owns the lake connection until
 * its free callback. A short page of a table whose description is cached
 * is sent with the catalog check in one round trip, and answered only if
 * the check confirms the description (docs/DESIGN.md, "The query API's
 * round trips"). Everything that can still become a 4xx is decided before
 * the first byte is sent. */
#include "handlers/handlers.h"
#include "query/catalog.h"
#include "query/format.h"
#include "query/session.h"
#include "query/stream.h"
#include "lib/gzip.h"
#include "lib/log.h"
#include "lib/sqlident.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TABLE_MAX_ARGS 256
#define STREAM_BLOCK (16 * 1024)

/* --- the list --------------------------------------------------------- */

void handle_tables_list(struct http_request *req)
{
	static const char *const allowed[] = {"layer", NULL};
	if (!http_check_query_names(req, allowed))
		return;
	const char *layer = http_query(req, "layer");
	if (layer && !query_layer_valid(layer)) {
		http_reply_problem(req, 400, "Invalid query parameter", "layer", NULL,
				   "layer must be trusted or refined");
		return;
	}
	PGconn *c = http_db(req);
	if (!c)
		return;
	json_t *items;
	PGresult *res;
	if (query_catalog_list(c, layer, &items, &res) == 0)
		http_reply_json(req, 200, json_pack("{s:o}", "items", items));
	else
		http_reply_db_error(req, res, c);
	PQclear(res);
	http_db_done(req, c);
}

/* --- a table's columns ------------------------------------------------ */

static const char *json_type_of(enum query_kind kind)
{
	switch (kind) {
	case QUERY_KIND_NUMBER:
		return "number";
	case QUERY_KIND_BOOL:
		return "boolean";
	case QUERY_KIND_JSON:
		return "json";
	default:
		return "string";
	}
}

/* The columns as the catalog describes them, and a JSON Schema of one row
 * of the JSON format, so generated clients are typed. */
static json_t *describe_table(const char *layer, const struct query_table *t)
{
	json_t *cols = json_array(), *props = json_object(), *pk = json_array(), *required = json_array();
	for (size_t i = 0; i < t->ncols; i++) {
		const struct query_column *c = &t->cols[i];
		const char *jt = json_type_of(c->kind);
		json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:b, s:b, s:i}", "name", c->name, "type", c->type,
						      "json_type", jt, "nullable", !c->notnull, "sortable", c->sortable,
						      "primary_key_position", c->pk));
		/* numbers may come as the strings "NaN" and "Infinity"; json is any value */
		json_t *schema = c->kind == QUERY_KIND_JSON ? json_object()
			: c->kind == QUERY_KIND_NUMBER ? json_pack("{s:[s, s]}", "type", "number", "string")
			: json_pack("{s:s}", "type", jt);
		if (!c->notnull && c->kind != QUERY_KIND_JSON) {
			json_t *type = json_object_get(schema, "type");
			if (json_is_string(type))
				json_object_set_new(schema, "type", json_pack("[s, s]", json_string_value(type), "null"));
			else
				json_array_append_new(type, json_string("null"));
		}
		json_object_set_new(schema, "description", json_string(c->type));
		json_object_set_new(props, c->name, schema);
		json_array_append_new(required, json_string(c->name));
	}
	for (size_t k = 1; k <= t->npk; k++)
		for (size_t i = 0; i < t->ncols; i++)
			if (t->cols[i].pk == (int)k)
				json_array_append_new(pk, json_string(t->cols[i].name));
	return json_pack("{s:s, s:s, s:o, s:o, s:{s:s, s:s, s:o, s:o, s:b}}", "layer", layer, "name", t->name,
			 "primary_key", pk, "columns", cols, "row_schema", "$schema",
			 "https://json-schema.org/draft/2020-12/schema", "type", "object", "properties", props,
			 "required", required, "additionalProperties", 0);
}

void handle_table_columns(struct http_request *req)
{
	const char *layer = route_param(&req->params, "layer");
	const char *table = route_param(&req->params, "table");
	struct query_table t = {0};
	PGresult *res = NULL;
	if (!query_layer_valid(layer)) {
		http_reply_problem(req, 400, "Invalid path parameter", "layer", NULL, "layer must be trusted or refined");
		return;
	}
	PGconn *c = http_db(req);
	if (!c)
		return;
	int found = query_open_table(c, QUERY_TIMEOUT_MS, layer, table, &t, &res);
	if (found < 0)
		http_reply_db_error(req, res, c);
	else if (found == 0)
		http_reply_problem(req, 404, "Not found", "table", NULL, "the %s layer has no table '%.64s'", layer, table);
	else
		http_reply_json(req, 200, describe_table(layer, &t));
	PQclear(res);
	query_table_free(&t);
	http_db_done(req, c);
}

/* --- a table: request parsing ------------------------------------------ */

struct args {
	struct query_arg items[TABLE_MAX_ARGS];
	size_t n;
	bool too_many;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct args *a = cls;
	if (a->n == TABLE_MAX_ARGS) {
		a->too_many = true;
		return MHD_NO;
	}
	a->items[a->n++] = (struct query_arg){key, value};
	return MHD_YES;
}

/* JSON unless the client prefers CSV: text/csv listed, and listed before
 * application/json when both are (q-values are not weighed). Answers 406
 * and returns false for an Accept that allows neither. */
static bool negotiate(struct http_request *req, enum query_format *fmt)
{
	const char *accept = http_header(req, MHD_HTTP_HEADER_ACCEPT);
	*fmt = QUERY_FORMAT_JSON;
	if (!accept || !*accept)
		return true;
	const char *csv = strcasestr(accept, "text/csv"), *json = strcasestr(accept, "application/json");
	if (!csv)
		csv = strcasestr(accept, "text/*");
	if (csv && (!json || csv < json)) {
		*fmt = QUERY_FORMAT_CSV;
		return true;
	}
	if (json || strstr(accept, "*/*") || strcasestr(accept, "application/*"))
		return true;
	http_reply_problem(req, 406, "Not acceptable", "Accept", NULL,
			   "rows are served as application/json or text/csv");
	return false;
}

/* The link to the next page: this request's path and arguments, `after`
 * replaced by the new cursor (free()). */
static char *next_link(const char *layer, const char *table, const struct args *a, const char *cursor)
{
	struct dynbuf b = {0};
	dynbuf_addstr(&b, "/v1/tables/");
	query_url_encode(&b, layer);
	dynbuf_addc(&b, '/');
	query_url_encode(&b, table);
	char sep = '?';
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->items[i].name, "after") == 0)
			continue;
		dynbuf_addc(&b, sep);
		sep = '&';
		query_url_encode(&b, a->items[i].name);
		if (a->items[i].value) {
			dynbuf_addc(&b, '=');
			query_url_encode(&b, a->items[i].value);
		}
	}
	dynbuf_printf(&b, "%cafter=%s", sep, cursor);
	return dynbuf_take(&b);
}

/* query_build's quoting, by libpq (which also checks the encoding). */
static char *quote_ident(void *ctx, const char *ident)
{
	return sqlident_quote(ctx, ident);
}

/* Answers a failed statement of the plan: a value PostgreSQL refused is a
 * 400 naming its query parameter, a timeout 504, the rest 5xx. */
static void reply_query_error(struct http_request *req, PGconn *c, PGresult *res,
			      const struct query_plan *plan)
{
	const char *state = db_sqlstate(res);
	char msg[256];
	if (strncmp(state, "22", 2) == 0) {
		int i = query_diagnose(c, plan, msg, sizeof msg);
		if (i < 0) {
			http_reply_db_error(req, res, c); /* no value of the request is at fault: the data is */
		} else if (strcmp(plan->params[i].field, "after") == 0) {
			http_reply_problem(req, 400, "Invalid query parameter", "after", NULL,
					   "the cursor does not fit column %.64s: %s", plan->params[i].column, msg);
		} else {
			const struct query_param *p = &plan->params[i];
			json_t *value = json_string(p->value); /* NULL when not UTF-8: then not echoed */
			http_reply_problem(req, 400, "Invalid filter value", p->field,
					   value ? json_pack("{s:o}", "value", value) : NULL,
					   "%.64s: '%.100s' is not a valid %s for column %.64s (%s)", p->field,
					   value ? p->value : "(not UTF-8)", p->cast ? p->cast : "pattern",
					   p->column, msg);
		}
	} else if (strcmp(state, "57014") == 0) {
		http_reply_problem(req, 504, "Query timeout", NULL, NULL,
				   "the query ran longer than %d s; narrow it with filters or an indexed order",
				   QUERY_TIMEOUT_MS / 1000);
	} else {
		http_reply_db_error(req, res, c);
	}
}

/* --- a table: the streamed response ------------------------------------ */

/* Owned by the libmicrohttpd response; freed in its free callback. */
struct table_stream {
	struct query_stream *qs;
	struct db_pool *pool;
	struct gzip_stream *gz;  /* NULL unless the client takes gzip */
	char request_id[40];
};

static ssize_t rows_read(void *cls, char *buf, size_t max)
{
	struct table_stream *ts = cls;
	return query_stream_read(ts->qs, buf, max);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct table_stream *ts = cls;
	ssize_t n = ts->gz ? gzip_stream_read(ts->gz, buf, max) : rows_read(ts, buf, max);
	if (n > 0)
		return n;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	log_json(LOG_ERROR, "table stream failed",
		 json_pack("{s:s, s:s, s:I}", "request_id", ts->request_id, "error",
			   query_stream_error(ts->qs), "rows", (json_int_t)query_stream_rows(ts->qs)));
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_done(void *cls)
{
	struct table_stream *ts = cls;
	db_release(ts->pool, query_stream_close(ts->qs));
	gzip_stream_free(ts->gz);
	free(ts);
}

/* A body that fits in one chunk as one buffer (one send with the
 * headers, Content-Length instead of chunks); gzipped when the client takes
 * it, as the stream would be. NULL when out of memory. */
static struct MHD_Response *whole_response(const char *body, size_t len, bool gzipped)
{
	if (!gzipped)
		return MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	size_t zlen;
	char *z = gzip_buffer(body, len, &zlen);
	struct MHD_Response *resp = z ? MHD_create_response_from_buffer(zlen, z, MHD_RESPMEM_MUST_FREE) : NULL;
	if (z && !resp)
		free(z);
	return resp;
}

/* Streams the rows, or answers them as one buffer when they fit in one
 * chunk (the stream then closed here, its connection released). */
static struct MHD_Response *rows_response(struct http_request *req, struct query_stream *qs, bool gzipped)
{
	size_t len;
	const char *body = query_stream_whole(qs, &len);
	if (body) {
		struct MHD_Response *resp = whole_response(body, len, gzipped);
		if (resp)
			db_release(req->app->db, query_stream_close(qs));
		return resp;
	}
	struct table_stream *ts = calloc(1, sizeof *ts);
	if (!ts)
		return NULL;
	ts->qs = qs;
	ts->pool = req->app->db;
	if (gzipped && !(ts->gz = gzip_stream_new(rows_read, ts))) {
		free(ts);
		return NULL;
	}
	memcpy(ts->request_id, req->request_id, sizeof ts->request_id);
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
								      stream_read, ts, stream_done);
	if (!resp) {
		gzip_stream_free(ts->gz);
		free(ts);
	}
	return resp;
}

/* Hands the stream and its connection (if it has one) to a response.
 * Returns false (and leaves both with the caller) when the response cannot
 * be made. */
static bool reply_stream(struct http_request *req, struct query_stream *qs, enum query_format fmt,
			 const char *next)
{
	bool gzipped = http_gzip_accepted(req);
	struct MHD_Response *resp = rows_response(req, qs, gzipped);
	if (!resp)
		return false;
	if (gzipped)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				fmt == QUERY_FORMAT_CSV ? "text/csv; charset=utf-8; header=present"
							: "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	http_reply_response(req, 200, resp);
	if (next) {
		struct dynbuf link = {0};
		dynbuf_printf(&link, "<%s>; rel=\"next\"", next);
		if (!link.failed)
			http_add_header(req, "Link", link.data);
		dynbuf_free(&link);
	}
	return true;
}

/* `Prefer: count=exact|planned|estimated` (RFC 7240; other preferences
 * are ignored, as the RFC allows). */
static enum query_count preferred_count(struct http_request *req)
{
	const char *prefer = http_header(req, "Prefer");
	static const struct { const char *name; enum query_count how; } counts[] = {
		{"count=exact", QUERY_COUNT_EXACT},
		{"count=planned", QUERY_COUNT_PLANNED},
		{"count=estimated", QUERY_COUNT_ESTIMATED},
	};
	for (const char *p = prefer; p && *p; p += strcspn(p, ",;"), p += *p != 0) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, ",; \t");
		for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
			if (n == strlen(counts[i].name) && strncasecmp(p, counts[i].name, n) == 0)
				return counts[i].how;
	}
	return QUERY_COUNT_NONE;
}

/* Content-Range as PostgREST answers it: "0-49/1234" for a first page whose
 * rows are known, "*\/1234" otherwise (a keyset page has no offset). */
static void add_count_headers(struct http_request *req, enum query_count how, long long total, bool first_page,
			      bool more, long long limit)
{
	static const char *const names[] = {"", "count=exact", "count=planned", "count=estimated"};
	char range[64];
	long long shown = more ? limit : how == QUERY_COUNT_EXACT && first_page ? (total < limit ? total : limit) : -1;
	if (first_page && shown > 0)
		snprintf(range, sizeof range, "0-%lld/%lld", shown - 1, total);
	else
		snprintf(range, sizeof range, "*/%lld", total);
	http_add_header(req, "Content-Range", range);
	http_add_header(req, "Preference-Applied", names[how]);
}

/* A short page of a table whose description is cached, in one round trip
 * (query_page_at_once). Returns 1 with *t, *plan, *rows and *cursor; 0
 * when that does not apply or the description was stale (everything left
 * empty, the connection out of any transaction); -1 with *res (and *plan,
 * for the answer). */
static int page_at_once(PGconn *c, const char *layer, const char *table, const struct query_spec *spec,
			struct query_table *t, struct query_plan *plan, PGresult **rows, char **cursor,
			PGresult **res)
{
	struct query_error qe;
	int rc = 0;
	if (!query_catalog_cached(layer, table, t))
		return 0;
	if (query_build(spec, t, quote_ident, c, plan, &qe) == 0 && plan->limit >= 0 &&
	    plan->limit <= QUERY_WHOLE_PAGE_MAX)
		rc = query_page_at_once(c, QUERY_TIMEOUT_MS, t, plan, rows, cursor, res);
	if (rc == 0) { /* the usual way answers, also a 400 the guess would give */
		query_plan_free(plan);
		query_table_free(t);
		db_rollback(c);
	}
	return rc;
}

/* The table, the plan and, for a short page, its rows (*rows) and cursor:
 * in one round trip when the table's description is cached and nothing
 * else is read (`counted` false), else the catalog first. A short page
 * without a count is all its transaction reads: the transaction ends with
 * it. Answers and returns false on a failure. */
static bool plan_rows(struct http_request *req, PGconn *c, const char *layer, const char *table,
		      const struct query_spec *spec, bool counted, struct query_table *t, struct query_plan *plan,
		      PGresult **rows, char **cursor)
{
	struct query_error qe;
	PGresult *res = NULL;
	int fast = counted ? 0 : page_at_once(c, layer, table, spec, t, plan, rows, cursor, &res);
	if (fast != 0) {
		if (fast < 0)
			reply_query_error(req, c, res, plan);
		PQclear(res);
		return fast > 0;
	}
	int found = query_open_table(c, QUERY_TIMEOUT_MS, layer, table, t, &res);
	if (found <= 0) {
		if (found < 0)
			http_reply_db_error(req, res, c);
		else
			http_reply_problem(req, 404, "Not found", "table", NULL, "the %s layer has no table '%.64s'",
					   layer, table);
		PQclear(res);
		return false;
	}
	int built = query_build(spec, t, quote_ident, c, plan, &qe);
	if (built != 0) {
		if (built == -1)
			http_reply_problem(req, 400, "Invalid query parameter", qe.field, NULL, "%s", qe.detail);
		else
			http_reply_problem(req, 500, "Internal error", NULL, NULL, "out of memory");
		return false;
	}
	if (plan->limit >= 0 && plan->limit <= QUERY_WHOLE_PAGE_MAX)
		res = query_page(c, plan, t, !counted, rows, cursor);
	else if (plan->probe_sql)
		res = query_probe(c, plan, cursor);
	if (res) {
		reply_query_error(req, c, res, plan);
		PQclear(res);
		return false;
	}
	return true;
}

void handle_table_query(struct http_request *req)
{
	const char *layer = route_param(&req->params, "layer");
	const char *table = route_param(&req->params, "table");
	struct args *a = NULL;
	struct query_spec spec = {0};
	struct query_table t = {0};
	struct query_plan plan = {0};
	struct query_error qe;
	struct query_stream *qs = NULL;
	enum query_format fmt;
	PGconn *c = NULL;
	PGresult *res = NULL, *rows = NULL;
	char *cursor = NULL, *next = NULL;
	enum query_count count = preferred_count(req);
	long long total = 0;

	if (!query_layer_valid(layer)) {
		http_reply_problem(req, 400, "Invalid path parameter", "layer", NULL,
				   "layer must be trusted or refined");
		return;
	}
	json_t *utf8 = json_string(table); /* NULL when not UTF-8: no relation has that name */
	if (!utf8) {
		http_reply_problem(req, 404, "Not found", "table", NULL,
				   "the %s layer has no table of that name (not UTF-8)", layer);
		return;
	}
	json_decref(utf8);
	if (!negotiate(req, &fmt))
		return;
	if (!(a = calloc(1, sizeof *a))) {
		http_reply_problem(req, 500, "Internal error", NULL, NULL, "out of memory");
		return;
	}
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_arg, a);
	if (a->too_many) {
		http_reply_problem(req, 400, "Invalid query parameter", NULL, NULL,
				   "at most %d query parameters", TABLE_MAX_ARGS);
		goto out;
	}
	if (query_parse(a->items, a->n, &spec, &qe) != 0) {
		http_reply_problem(req, 400, "Invalid query parameter", qe.field, NULL, "%s", qe.detail);
		goto out;
	}
	if (spec.limit_all && fmt != QUERY_FORMAT_CSV) {
		http_reply_problem(req, 400, "Invalid query parameter", "limit", NULL,
				   "limit=all streams the whole table and needs Accept: text/csv; "
				   "JSON pages hold at most %d rows", QUERY_LIMIT_MAX);
		goto out;
	}
	if (!(c = http_db(req)))
		goto out;
	if (!plan_rows(req, c, layer, table, &spec, count != QUERY_COUNT_NONE, &t, &plan, &rows, &cursor))
		goto out;
	if (count != QUERY_COUNT_NONE && (res = query_count(c, &plan, count, &total))) {
		reply_query_error(req, c, res, &plan);
		goto out;
	}
	if (cursor && !(next = next_link(layer, table, a, cursor))) {
		http_reply_problem(req, 500, "Internal error", NULL, NULL, "out of memory");
		goto out;
	}
	if (rows) {
		if (!(qs = query_stream_page(rows, &plan, &t, fmt, next))) {
			http_reply_problem(req, 500, "Internal error", NULL, NULL, "out of memory");
			goto out;
		}
		rows = NULL; /* the stream's now */
		http_db_done(req, c); /* every row is read: the connection goes back before the answer */
		c = NULL;
	} else if (!(qs = query_stream_open(c, &plan, &t, fmt, next, &res))) {
		reply_query_error(req, c, res, &plan);
		goto out;
	}
	if (!reply_stream(req, qs, fmt, next)) {
		query_stream_close(qs);
		http_reply_problem(req, 500, "Internal error", NULL, NULL, "out of memory");
		goto out;
	}
	if (count != QUERY_COUNT_NONE)
		add_count_headers(req, count, total, !spec.after, cursor != NULL, plan.limit);
	c = NULL; /* the response owns it now */
out:
	PQclear(res);
	PQclear(rows);
	if (c)
		http_db_done(req, c);
	free(cursor);
	free(next);
	query_plan_free(&plan);
	query_table_free(&t);
	query_spec_free(&spec);
	free(a);
}
