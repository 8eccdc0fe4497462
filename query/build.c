/* SQL for one table request: SELECT list, WHERE from filters and cursor,
 * ORDER BY the sort key, LIMIT; and the probe that finds the next cursor.
 * See build.h for the ordering and keyset rules. */
#include "query/build.h"
#include "lib/dynbuf.h"
#include "query/cursor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sort_key {
	size_t col;
	bool desc;
};

/* Everything being built, so helpers stay small and failure has one exit. */
struct builder {
	const struct query_table *t;
	query_quote_fn quote;
	void *qctx;
	char **quoted;              /* quoted name per table column, made on demand */
	struct query_plan *plan;
	struct query_error *err;
	struct sort_key *keys;
	size_t nkeys;
	bool oom;
};

static long find_column(const struct query_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

static const char *qcol(struct builder *b, size_t col)
{
	if (!b->quoted[col] && !(b->quoted[col] = b->quote(b->qctx, b->t->cols[col].name)))
		b->oom = true;
	return b->quoted[col] ? b->quoted[col] : "?";
}

/* Adds a parameter; returns its number ($n), 0 when out of memory. */
static int add_param(struct builder *b, const char *value, const char *field, size_t col, enum query_op op,
		     bool pattern)
{
	struct query_plan *p = b->plan;
	struct query_param *grown = realloc(p->params, ((size_t)p->nparams + 1) * sizeof *grown);
	if (!grown) {
		b->oom = true;
		return 0;
	}
	p->params = grown;
	char *v = strdup(value);
	if (!v) {
		b->oom = true;
		return 0;
	}
	p->params[p->nparams] = (struct query_param){v, field, b->t->cols[col].name,
						     pattern ? NULL : b->t->cols[col].type, op};
	return ++p->nparams;
}

/* `$n::type` for a value compared with column `col`. */
static void put_value(struct builder *b, struct dynbuf *sql, const char *value, const char *field,
		      size_t col, enum query_op op)
{
	int n = add_param(b, value, field, col, op, false);
	dynbuf_printf(sql, "$%d::%s", n, b->t->cols[col].type);
}

static int filter_sql(struct builder *b, const struct query_filter *f, struct dynbuf *sql)
{
	static const char *const cmp[] = {[QUERY_OP_EQ] = "=", [QUERY_OP_NEQ] = "<>", [QUERY_OP_GT] = ">",
					  [QUERY_OP_GTE] = ">=", [QUERY_OP_LT] = "<", [QUERY_OP_LTE] = "<="};
	long c = find_column(b->t, f->column);
	if (c < 0)
		return query_fail(b->err, f->column, "%s.%s has no column '%.64s' (unknown query parameter)",
				  b->t->schema, b->t->name, f->column);
	const struct query_column *col = &b->t->cols[c];
	const char *q = qcol(b, (size_t)c);
	switch (f->op) {
	case QUERY_OP_EQ: case QUERY_OP_NEQ: case QUERY_OP_GT: case QUERY_OP_GTE:
	case QUERY_OP_LT: case QUERY_OP_LTE: case QUERY_OP_IN:
		if (!col->sortable)
			return query_fail(b->err, f->column, "column %.64s (%s) cannot be compared with %s",
					  col->name, col->type, query_op_name(f->op));
		break;
	case QUERY_OP_IS:
		if ((f->is == QUERY_IS_TRUE || f->is == QUERY_IS_FALSE) && col->kind != QUERY_KIND_BOOL)
			return query_fail(b->err, f->column, "column %.64s (%s) is not boolean: is takes null or not_null",
					  col->name, col->type);
		break;
	case QUERY_OP_LIKE: case QUERY_OP_ILIKE:
		break;
	}
	switch (f->op) {
	case QUERY_OP_IS: {
		static const char *const is_sql[] = {[QUERY_IS_NULL] = "IS NULL", [QUERY_IS_NOT_NULL] = "IS NOT NULL",
						     [QUERY_IS_TRUE] = "IS TRUE", [QUERY_IS_FALSE] = "IS FALSE"};
		dynbuf_printf(sql, "%s %s", q, is_sql[f->is]);
		break;
	}
	case QUERY_OP_LIKE: case QUERY_OP_ILIKE: {
		int n = add_param(b, f->values[0], f->column, (size_t)c, f->op, true);
		dynbuf_printf(sql, "%s::text %s $%d", q, f->op == QUERY_OP_LIKE ? "LIKE" : "ILIKE", n);
		break;
	}
	case QUERY_OP_IN:
		if (f->nvalues == 0) {
			dynbuf_addstr(sql, "false");
			break;
		}
		dynbuf_printf(sql, "%s IN (", q);
		for (size_t i = 0; i < f->nvalues; i++) {
			if (i)
				dynbuf_addstr(sql, ", ");
			put_value(b, sql, f->values[i], f->column, (size_t)c, f->op);
		}
		dynbuf_addc(sql, ')');
		break;
	default:
		dynbuf_printf(sql, "%s %s ", q, cmp[f->op]);
		put_value(b, sql, f->values[0], f->column, (size_t)c, f->op);
	}
	return 0;
}

static bool key_has(const struct builder *b, size_t col)
{
	for (size_t i = 0; i < b->nkeys; i++)
		if (b->keys[i].col == col)
			return true;
	return false;
}

/* The requested order, then the primary key, or every other sortable column. */
static int sort_keys(struct builder *b, const struct query_spec *spec)
{
	const struct query_table *t = b->t;
	if (!(b->keys = calloc(t->ncols ? t->ncols : 1, sizeof *b->keys))) {
		b->oom = true;
		return -1;
	}
	for (size_t i = 0; i < spec->norder; i++) {
		long c = find_column(t, spec->order[i].column);
		if (c < 0)
			return query_fail(b->err, "order", "%s.%s has no column '%.64s' (in order)", t->schema,
					  t->name, spec->order[i].column);
		if (!t->cols[c].sortable)
			return query_fail(b->err, "order", "column %.64s (%s) cannot be sorted", t->cols[c].name,
					  t->cols[c].type);
		b->keys[b->nkeys++] = (struct sort_key){(size_t)c, spec->order[i].desc};
	}
	for (int pos = 1; pos <= (int)t->npk; pos++)
		for (size_t c = 0; c < t->ncols; c++)
			if (t->cols[c].pk == pos && !key_has(b, c))
				b->keys[b->nkeys++] = (struct sort_key){c, false};
	if (t->npk == 0)
		for (size_t c = 0; c < t->ncols; c++)
			if (t->cols[c].sortable && !key_has(b, c))
				b->keys[b->nkeys++] = (struct sort_key){c, false};
	if (b->nkeys == 0 && !spec->limit_all)
		return query_fail(b->err, "limit", "%s.%s has no sortable column to page by; "
				  "export it whole with limit=all and Accept: text/csv", t->schema, t->name);
	return 0;
}

static void make_signature(struct builder *b)
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[3];
	for (size_t i = 0; i < b->nkeys + 1; i++) {
		if (i == 0) {
			parts[0] = b->t->schema;
			parts[1] = b->t->name;
			parts[2] = "";
		} else {
			parts[0] = b->t->cols[b->keys[i - 1].col].name;
			parts[1] = b->keys[i - 1].desc ? "d" : "a";
			parts[2] = "";
		}
		for (int k = 0; k < 3; k++)
			for (const unsigned char *s = (const unsigned char *)parts[k];; s++) {
				h = (h ^ *s) * 1099511628211ULL;
				if (!*s)
					break;
			}
	}
	snprintf(b->plan->signature, sizeof b->plan->signature, "%016llx", (unsigned long long)h);
}

/* One key "after" the cursor value in its direction, NULL-aware (NULLS LAST
 * ascending, FIRST descending). Returns false when no row can be after it. */
static bool key_after(struct builder *b, struct dynbuf *sql, size_t i, const int *pn, char **vals)
{
	const struct sort_key *k = &b->keys[i];
	const struct query_column *col = &b->t->cols[k->col];
	const char *q = qcol(b, k->col);
	if (!vals[i]) {
		if (!k->desc)
			return false;
		dynbuf_printf(sql, "%s IS NOT NULL", q);
		return true;
	}
	if (!k->desc && !col->notnull)
		dynbuf_printf(sql, "(%s > $%d::%s OR %s IS NULL)", q, pn[i], col->type, q);
	else
		dynbuf_printf(sql, "%s %s $%d::%s", q, k->desc ? "<" : ">", pn[i], col->type);
	return true;
}

static void after_sql(struct builder *b, struct dynbuf *sql, char **vals)
{
	int *pn = calloc(b->nkeys, sizeof *pn);
	if (!pn) {
		b->oom = true;
		return;
	}
	bool uniform = true;
	for (size_t i = 0; i < b->nkeys; i++) {
		const struct query_column *col = &b->t->cols[b->keys[i].col];
		if (vals[i])
			pn[i] = add_param(b, vals[i], "after", b->keys[i].col, QUERY_OP_GT, false);
		uniform = uniform && vals[i] && col->notnull && b->keys[i].desc == b->keys[0].desc;
	}
	if (uniform) {
		dynbuf_addc(sql, '(');
		for (size_t i = 0; i < b->nkeys; i++)
			dynbuf_printf(sql, "%s%s", i ? ", " : "", qcol(b, b->keys[i].col));
		dynbuf_printf(sql, ") %s (", b->keys[0].desc ? "<" : ">");
		for (size_t i = 0; i < b->nkeys; i++)
			dynbuf_printf(sql, "%s$%d::%s", i ? ", " : "", pn[i], b->t->cols[b->keys[i].col].type);
		dynbuf_addc(sql, ')');
		free(pn);
		return;
	}
	const struct query_column *first = &b->t->cols[b->keys[0].col];
	if (vals[0] && first->notnull)
		dynbuf_printf(sql, "%s %s $%d::%s AND ", qcol(b, b->keys[0].col), b->keys[0].desc ? "<=" : ">=",
				 pn[0], first->type);
	dynbuf_addc(sql, '(');
	size_t terms = 0;
	for (size_t i = 0; i < b->nkeys; i++) {
		struct dynbuf term = {0};
		for (size_t j = 0; j < i; j++) {
			const struct query_column *cj = &b->t->cols[b->keys[j].col];
			if (vals[j])
				dynbuf_printf(&term, "%s = $%d::%s AND ", qcol(b, b->keys[j].col), pn[j], cj->type);
			else
				dynbuf_printf(&term, "%s IS NULL AND ", qcol(b, b->keys[j].col));
		}
		if (key_after(b, &term, i, pn, vals)) {
			dynbuf_printf(sql, "%s(%s)", terms++ ? " OR " : "", dynbuf_cstr(&term));
			b->oom = b->oom || term.failed;
		}
		dynbuf_free(&term);
	}
	if (!terms)
		dynbuf_addstr(sql, "false");
	dynbuf_addc(sql, ')');
	free(pn);
}


/* One output of the select: a plain column, or an aggregate of one (or
 * count()), with its answer name and kind. Returns 0 or -1 (err). */
static int add_output(struct builder *b, const char *name, enum query_agg agg)
{
	const struct query_table *t = b->t;
	struct query_plan *p = b->plan;
	size_t i = p->nout;
	long c = *name ? find_column(t, name) : -1;
	if (c < 0 && !(agg == QUERY_AGG_COUNT && !*name))
		return query_fail(b->err, "select", "%s.%s has no column '%.64s' (in select)", t->schema, t->name, name);
	if ((agg == QUERY_AGG_SUM || agg == QUERY_AGG_AVG) && t->cols[c].kind != QUERY_KIND_NUMBER)
		return query_fail(b->err, "select", "%s() needs a number column; %.64s is %s", query_agg_name(agg),
				  name, t->cols[c].type);
	if ((agg == QUERY_AGG_MIN || agg == QUERY_AGG_MAX || (agg == QUERY_AGG_NONE && p->aggregated)) &&
	    !t->cols[c].sortable)
		return query_fail(b->err, "select", "%.64s (%s) has no ordering to %s", name, t->cols[c].type,
				  agg ? query_agg_name(agg) : "group by");
	p->out_cols[i] = c < 0 ? SIZE_MAX : (size_t)c;
	p->out_aggs[i] = agg;
	p->out_kinds[i] = agg == QUERY_AGG_NONE || agg == QUERY_AGG_MIN || agg == QUERY_AGG_MAX ? t->cols[c].kind
											       : QUERY_KIND_NUMBER;
	if (agg == QUERY_AGG_NONE)
		p->out_names[i] = strdup(name);
	else if (!*name)
		p->out_names[i] = strdup("count");
	else if (asprintf(&p->out_names[i], "%s_%s", name, query_agg_name(agg)) < 0)
		p->out_names[i] = NULL;
	if (!p->out_names[i]) {
		b->oom = true;
		return -1;
	}
	for (size_t j = 0; j < i; j++)
		if (strcmp(p->out_names[j], p->out_names[i]) == 0) {
			query_fail(b->err, "select", "two outputs would be named %.64s", p->out_names[i]);
			free(p->out_names[i]);
			p->out_names[i] = NULL;
			return -1;
		}
	p->nout++;
	return 0;
}

/* With aggregates: the requested order (grouped columns only), then every
 * other grouped column, in select order. */
static int group_keys(struct builder *b, const struct query_spec *spec)
{
	const struct query_plan *p = b->plan;
	if (!(b->keys = calloc(p->nout ? p->nout : 1, sizeof *b->keys))) {
		b->oom = true;
		return -1;
	}
	for (size_t i = 0; i < spec->norder; i++) {
		size_t k = 0;
		while (k < p->nout && !(p->out_aggs[k] == QUERY_AGG_NONE && strcmp(p->out_names[k], spec->order[i].column) == 0))
			k++;
		if (k == p->nout)
			return query_fail(b->err, "order", "with aggregates, order names grouped columns of select; "
					  "'%.64s' is not one", spec->order[i].column);
		b->keys[b->nkeys++] = (struct sort_key){p->out_cols[k], spec->order[i].desc};
	}
	for (size_t k = 0; k < p->nout; k++)
		if (p->out_aggs[k] == QUERY_AGG_NONE && !key_has(b, p->out_cols[k]))
			b->keys[b->nkeys++] = (struct sort_key){p->out_cols[k], false};
	return 0;
}

/* An output as SQL: the quoted column, or its aggregate. */
static void output_sql(struct builder *b, struct dynbuf *sql, size_t i)
{
	const struct query_plan *p = b->plan;
	enum query_agg agg = p->out_aggs[i];
	if (agg == QUERY_AGG_NONE)
		dynbuf_addstr(sql, qcol(b, p->out_cols[i]));
	else if (p->out_cols[i] == SIZE_MAX)
		dynbuf_addstr(sql, "count(*)");
	else
		dynbuf_printf(sql, "%s(%s)", query_agg_name(agg), qcol(b, p->out_cols[i]));
}

int query_build(const struct query_spec *spec, const struct query_table *t, query_quote_fn quote,
		void *quote_ctx, struct query_plan *plan, struct query_error *err)
{
	*plan = (struct query_plan){0};
	struct builder b = {.t = t, .quote = quote, .qctx = quote_ctx, .plan = plan, .err = err};
	struct dynbuf where = {0}, tail = {0}, sql = {0};
	char **cursor = NULL;
	char *qs = NULL, *qt = NULL, *filters_where = NULL;
	int rc = -1;

	size_t nouts = spec->select ? spec->nselect : t->ncols;
	if (!(b.quoted = calloc(t->ncols ? t->ncols : 1, sizeof *b.quoted)) ||
	    !(plan->out_cols = calloc(nouts ? nouts : 1, sizeof *plan->out_cols)) ||
	    !(plan->out_aggs = calloc(nouts ? nouts : 1, sizeof *plan->out_aggs)) ||
	    !(plan->out_names = calloc(nouts ? nouts : 1, sizeof *plan->out_names)) ||
	    !(plan->out_kinds = calloc(nouts ? nouts : 1, sizeof *plan->out_kinds)))
		goto oom;
	/* the columns shown */
	plan->aggregated = spec->select_agg != NULL;
	if (spec->select) {
		for (size_t i = 0; i < spec->nselect; i++) {
			enum query_agg agg = spec->select_agg ? spec->select_agg[i] : QUERY_AGG_NONE;
			if (add_output(&b, spec->select[i], agg) != 0)
				goto out;
		}
	} else {
		for (size_t c = 0; c < t->ncols; c++)
			if (add_output(&b, t->cols[c].name, QUERY_AGG_NONE) != 0)
				goto out;
	}
	/* filters */
	for (size_t i = 0; i < spec->nfilters; i++) {
		dynbuf_addstr(&where, i ? " AND " : " WHERE ");
		if (filter_sql(&b, &spec->filters[i], &where) != 0)
			goto out;
	}
	plan->count_nparams = plan->nparams;
	filters_where = strdup(dynbuf_cstr(&where));
	if (!filters_where)
		goto oom;
	/* sort key and cursor */
	if ((plan->aggregated ? group_keys(&b, spec) : sort_keys(&b, spec)) != 0)
		goto out;
	plan->nkeys = b.nkeys;
	plan->limit = spec->limit_all ? -1 : spec->limit;
	make_signature(&b);
	if (spec->after) {
		int r = query_cursor_decode(spec->after, plan->signature, b.nkeys, &cursor);
		if (r == -2) {
			query_fail(err, "after", "this cursor belongs to another table or order; "
				   "keep the order of the request that returned it");
			goto out;
		}
		if (r != 0) {
			query_fail(err, "after", "after is not a cursor returned by this API");
			goto out;
		}
		dynbuf_addstr(&where, spec->nfilters ? " AND " : " WHERE ");
		after_sql(&b, &where, cursor);
	}
	if (!(qs = quote(quote_ctx, t->schema)) || !(qt = quote(quote_ctx, t->name)))
		goto oom;
	/* GROUP BY the plain outputs (none: one row of aggregates) */
	struct dynbuf group = {0};
	for (size_t i = 0; plan->aggregated && i < plan->nout; i++)
		if (plan->out_aggs[i] == QUERY_AGG_NONE)
			dynbuf_printf(&group, "%s%s", group.len ? ", " : " GROUP BY ", qcol(&b, plan->out_cols[i]));
	if (group.len)
		dynbuf_printf(&sql, "SELECT count(*) FROM (SELECT 1 FROM %s.%s%s%s) g", qs, qt, filters_where, group.data);
	else if ((plan->one_row = plan->aggregated))
		dynbuf_addstr(&sql, "SELECT 1"); /* aggregates without grouping: always one row */
	else
		dynbuf_printf(&sql, "SELECT count(*) FROM %s.%s%s", qs, qt, filters_where);
	plan->count_sql = dynbuf_take(&sql);
	dynbuf_printf(&sql, "EXPLAIN (FORMAT JSON) SELECT 1 FROM %s.%s%s%s", qs, qt, filters_where, dynbuf_cstr(&group));
	plan->estimate_sql = dynbuf_take(&sql);
	dynbuf_printf(&tail, " FROM %s.%s%s%s", qs, qt, dynbuf_cstr(&where), dynbuf_cstr(&group));
	bool group_failed = group.failed;
	dynbuf_free(&group);
	if (!plan->count_sql || !plan->estimate_sql || group_failed)
		goto oom;
	for (size_t i = 0; i < b.nkeys; i++)
		dynbuf_printf(&tail, "%s%s %s", i ? ", " : " ORDER BY ", qcol(&b, b.keys[i].col),
				 b.keys[i].desc ? "DESC" : "ASC");

	/* the page; a whole page also reads the sort key and one row more, which
	 * tells whether a next page exists (no probe statement) */
	plan->whole = !spec->limit_all && spec->limit <= QUERY_WHOLE_PAGE_MAX && b.nkeys > 0;
	dynbuf_addstr(&sql, "SELECT ");
	for (size_t i = 0; i < plan->nout; i++) {
		if (i)
			dynbuf_addstr(&sql, ", ");
		output_sql(&b, &sql, i);
	}
	if (plan->nout == 0)
		dynbuf_addstr(&sql, "NULL"); /* a relation without columns */
	for (size_t i = 0; plan->whole && i < b.nkeys; i++)
		dynbuf_printf(&sql, ", %s", qcol(&b, b.keys[i].col));
	dynbuf_addstr(&sql, dynbuf_cstr(&tail));
	if (!spec->limit_all)
		dynbuf_printf(&sql, " LIMIT %lld", spec->limit + plan->whole);
	plan->sql = dynbuf_take(&sql);
	/* the probe of a longer page: the sort key of its last row, and whether
	 * one follows (none for aggregates without grouping: one row) */
	if (!spec->limit_all && !plan->whole && b.nkeys > 0) {
		dynbuf_addstr(&sql, "SELECT ");
		for (size_t i = 0; i < b.nkeys; i++)
			dynbuf_printf(&sql, "%s%s", i ? ", " : "", qcol(&b, b.keys[i].col));
		dynbuf_printf(&sql, "%s LIMIT 2 OFFSET %lld", dynbuf_cstr(&tail), spec->limit - 1);
		plan->probe_sql = dynbuf_take(&sql);
		if (!plan->probe_sql)
			goto oom;
	}
	if (!plan->sql || b.oom || where.failed || tail.failed)
		goto oom;
	if (!(plan->values = calloc((size_t)plan->nparams + 1, sizeof *plan->values)))
		goto oom;
	for (int i = 0; i < plan->nparams; i++)
		plan->values[i] = plan->params[i].value;
	rc = 0;
	goto out;
oom:
	query_fail(err, "", "out of memory");
	rc = -2;
out:
	if (rc != 0)
		query_plan_free(plan);
	for (size_t i = 0; b.quoted && i < t->ncols; i++)
		free(b.quoted[i]);
	free(b.quoted);
	free(b.keys);
	free(qs);
	free(qt);
	free(filters_where);
	query_cursor_values_free(cursor, b.nkeys);
	dynbuf_free(&where);
	dynbuf_free(&tail);
	dynbuf_free(&sql);
	return rc;
}

char *query_plan_cursor(const struct query_plan *plan, const char *const *keys)
{
	return query_cursor_encode(plan->signature, keys, plan->nkeys);
}

char *query_param_check_sql(const struct query_param *p)
{
	struct dynbuf b = {0};
	if (p->cast)
		dynbuf_printf(&b, "SELECT $1::%s", p->cast);
	else
		dynbuf_printf(&b, "SELECT $1::text %s $1::text", p->op == QUERY_OP_ILIKE ? "ILIKE" : "LIKE");
	return dynbuf_take(&b);
}

void query_plan_free(struct query_plan *plan)
{
	for (int i = 0; i < plan->nparams; i++)
		free(plan->params[i].value);
	free(plan->params);
	free(plan->values);
	free(plan->sql);
	free(plan->probe_sql);
	free(plan->count_sql);
	free(plan->estimate_sql);
	for (size_t i = 0; plan->out_names && i < plan->nout; i++)
		free(plan->out_names[i]);
	free(plan->out_names);
	free(plan->out_kinds);
	free(plan->out_aggs);
	free(plan->out_cols);
	*plan = (struct query_plan){0};
}

void query_table_free(struct query_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
	}
	free(t->cols);
	free(t->schema);
	free(t->name);
	free(t->fingerprint);
	*t = (struct query_table){0};
}
