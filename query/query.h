/* The query language of GET /v1/tables/{layer}/{table}, PostgREST-like:
 *
 *   ?select=a,b&total=gt.100&uf=in.(SP,RJ)&nome=ilike.*fone*&promocao_id=is.null
 *    &order=data_venda.desc,id.asc&limit=50&after=<cursor>
 *
 * `select`, `order`, `limit` and `after` are reserved; every other parameter
 * is a filter `column=op.value` (several on one column are ANDed). Lists
 * (select, order, in) are comma-separated; an item may be "double quoted",
 * with \" and \\ inside, to hold commas, dots or parentheses.
 *
 * Aggregates, as PostgREST 12 has them: a select item `column.sum()`
 * (also avg, min, max, count) or `count()` aggregates; the plain columns of
 * the same select are the grouping (`select=uf,total.sum()`).
 *
 * This file only parses: whether the columns exist and the values fit their
 * types is decided against the catalog (build.h) and by PostgreSQL. Pure C. */
#ifndef LAKE_QUERY_H
#define LAKE_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#define QUERY_LIMIT_DEFAULT 100
#define QUERY_LIMIT_MAX 10000
#define QUERY_MAX_FILTERS 64
#define QUERY_MAX_IN_ITEMS 1000
#define QUERY_MAX_LIST 1600      /* columns in select or order */

enum query_op {
	QUERY_OP_EQ, QUERY_OP_NEQ, QUERY_OP_GT, QUERY_OP_GTE, QUERY_OP_LT, QUERY_OP_LTE,
	QUERY_OP_LIKE, QUERY_OP_ILIKE, QUERY_OP_IN, QUERY_OP_IS,
};

enum query_is { QUERY_IS_NULL, QUERY_IS_NOT_NULL, QUERY_IS_TRUE, QUERY_IS_FALSE };

struct query_filter {
	char *column;           /* the parameter name */
	enum query_op op;
	char **values;          /* one value; `in`: the items; `is`: none; like: '*' already '%' */
	size_t nvalues;
	enum query_is is;
};

enum query_agg { QUERY_AGG_NONE, QUERY_AGG_SUM, QUERY_AGG_AVG, QUERY_AGG_MIN, QUERY_AGG_MAX, QUERY_AGG_COUNT };

struct query_order {
	char *column;
	bool desc;
};

/* Everything a request asked for; owned, query_spec_free releases it. */
struct query_spec {
	char **select;          /* NULL: every column; "" for count() */
	enum query_agg *select_agg; /* per select item; NULL when none aggregates */
	size_t nselect;
	struct query_filter *filters;
	size_t nfilters;
	struct query_order *order;
	size_t norder;
	long long limit;        /* rows per page; ignored when limit_all */
	bool limit_all;         /* limit=all (only allowed for CSV: the caller checks) */
	char *after;            /* the opaque cursor as received, or NULL */
};

/* What was wrong: `field` is the query parameter at fault. */
struct query_error {
	char field[128];
	char detail[512];
};

/* One query-string argument as the HTTP layer decoded it (value may be NULL). */
struct query_arg {
	const char *name;
	const char *value;
};

/* Parses the arguments in order. Returns 0, or -1 with *err filled (and
 * *out left empty). */
int query_parse(const struct query_arg *args, size_t nargs, struct query_spec *out,
		struct query_error *err);
void query_spec_free(struct query_spec *spec);

const char *query_op_name(enum query_op op);
/* "sum", "avg", "min", "max", "count"; NULL for QUERY_AGG_NONE. */
const char *query_agg_name(enum query_agg agg);

/* Sets err's field and a printf-style detail; returns -1 for `return query_fail(...)`. */
int query_fail(struct query_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
