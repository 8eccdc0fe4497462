/* Turns a parsed query_spec into SQL for one table described by the catalog.
 *
 * Identifiers come only from the table description (read from the catalog)
 * and are quoted by the caller's function (PQescapeIdentifier in the
 * server); every value is a bound text parameter cast to its column's type,
 * `$1::numeric`. Pure: no connection, unit-tested.
 *
 * Ordering and keyset pagination: the sort key is the requested order
 * followed by the primary key's columns; a relation without a primary key
 * (a view, a keyless table) is ordered by the requested columns and then by
 * every other sortable column, so rows are only ever tied when they are
 * equal in every sortable column (such duplicates can collapse at a page
 * boundary; nothing better exists without a key, and ctid is not stable).
 * NULLs sort as PostgreSQL does by default: last ascending, first
 * descending. The page after a cursor is
 *   (k1, k2) > ($a, $b)                       uniform direction, no NULLs possible
 *   k1 > $a OR (k1 = $a AND k2 < $b) OR ...   otherwise, NULL-aware per key,
 * the latter led by `k1 >= $a` when k1 is NOT NULL so an index on k1 helps.
 *
 * Aggregates (`total.sum()` in select) group by the plain columns of the
 * select; the sort key is then the requested order (grouped columns only)
 * followed by the other grouped columns, so groups page like rows. An
 * aggregate is named <column>_<function> in the answer (`count` for
 * count()). */
#ifndef LAKE_QUERY_BUILD_H
#define LAKE_QUERY_BUILD_H

#include "query/format.h"
#include "query/query.h"

#include <stdbool.h>
#include <stddef.h>

struct query_column {
	char *name;
	char *type;            /* cast target: the type's SQL name, without typmod */
	enum query_kind kind;
	bool sortable;         /* has a default btree operator class: =, <, ORDER BY */
	bool notnull;
	int pk;                /* 1-based position in the primary key, 0 if not in it */
};

/* A relation of a layer as the catalog describes it. */
struct query_table {
	char *schema;
	char *name;
	struct query_column *cols;
	size_t ncols;
	size_t npk;            /* primary-key columns, 0 for views and keyless tables */
	char *fingerprint;     /* the catalog's fingerprint of it (query/catalog.c), or NULL */
};

/* Returns `ident` quoted as an SQL identifier (malloc'd), or NULL. */
typedef char *(*query_quote_fn)(void *ctx, const char *ident);

/* One bound parameter and what to blame when PostgreSQL rejects it. */
struct query_param {
	char *value;           /* owned */
	const char *field;     /* the query parameter it came from (borrowed from the spec) */
	const char *column;    /* borrowed from the table */
	const char *cast;      /* the type it is cast to (borrowed), or NULL for a LIKE pattern */
	enum query_op op;
};

/* A page of at most this many rows is read by one statement, whole: its
 * rows, then the sort key and one row more (a next page exists when that
 * row does). A longer page is probed for its next cursor, then read from a
 * cursor in batches. */
#define QUERY_WHOLE_PAGE_MAX 500

struct query_plan {
	char *sql;             /* the page, or the whole export for limit=all; for a whole
				* page, the outputs then the sort key, LIMIT limit + 1 */
	char *probe_sql;       /* sort keys of the page's last row and the one after; NULL for
				* limit=all and whole pages */
	bool whole;            /* a page read by one statement (see QUERY_WHOLE_PAGE_MAX) */
	char *count_sql;       /* count(*) of the rows the filters select (no cursor, no limit) */
	char *estimate_sql;    /* EXPLAIN (FORMAT JSON) of the same selection: the planner's row estimate */
	int count_nparams;     /* the parameters count_sql and estimate_sql use: the first ones */
	struct query_param *params;
	int nparams;
	const char **values;   /* params[i].value, for PQexecParams */
	size_t *out_cols;      /* indices into table->cols, in output order (SIZE_MAX for count()) */
	enum query_agg *out_aggs; /* the aggregate of each output, QUERY_AGG_NONE for a plain column */
	char **out_names;      /* each output's name in the answer (owned) */
	enum query_kind *out_kinds; /* and how it is written */
	size_t nout;
	bool aggregated;       /* GROUP BY the plain outputs */
	bool one_row;          /* aggregates without grouping: the answer is one row */
	size_t nkeys;          /* sort-key columns: the probe's result, a whole page's last columns */
	long long limit;       /* rows in the page, -1 for limit=all */
	char signature[17];    /* the cursor signature (hex) */
};

/* Builds the plan. Returns 0, -1 with err naming the query parameter at
 * fault (unknown column, operator the type lacks, bad cursor), or -2 when
 * out of memory. The plan
 * borrows strings from `spec` and `t`: keep them until query_plan_free. */
int query_build(const struct query_spec *spec, const struct query_table *t, query_quote_fn quote,
		void *quote_ctx, struct query_plan *plan, struct query_error *err);
void query_plan_free(struct query_plan *plan);

/* Encodes the probe row's sort-key values as the next page's cursor (free()). */
char *query_plan_cursor(const struct query_plan *plan, const char *const *keys);

/* The SQL that tests parameter i alone ("SELECT $1::numeric"), used to name
 * the filter at fault after PostgreSQL refused a value (free()). */
char *query_param_check_sql(const struct query_param *p);

void query_table_free(struct query_table *t);

#endif
