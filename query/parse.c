/* Parses the query string of a table request into a query_spec. No catalog,
 * no SQL: only syntax, limits and the shape of each argument. */
#include "query/query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const op_names[] = {
	[QUERY_OP_EQ] = "eq", [QUERY_OP_NEQ] = "neq", [QUERY_OP_GT] = "gt", [QUERY_OP_GTE] = "gte",
	[QUERY_OP_LT] = "lt", [QUERY_OP_LTE] = "lte", [QUERY_OP_LIKE] = "like",
	[QUERY_OP_ILIKE] = "ilike", [QUERY_OP_IN] = "in", [QUERY_OP_IS] = "is",
};

const char *query_op_name(enum query_op op)
{
	return op_names[op];
}

int query_fail(struct query_error *err, const char *field, const char *fmt, ...)
{
	snprintf(err->field, sizeof err->field, "%s", field);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	va_end(ap);
	return -1;
}

/* A growable array of owned strings. */
struct strlist {
	char **items;
	size_t n;
};

static int strlist_push(struct strlist *l, char *s)
{
	char **grown = s ? realloc(l->items, (l->n + 1) * sizeof *grown) : NULL;
	if (!grown) {
		free(s);
		return -1;
	}
	l->items = grown;
	l->items[l->n++] = s;
	return 0;
}

static void strlist_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

/* Reads one list item at *p, stopping at ',' or the end. A "quoted" item
 * ends at its closing quote (*p is left just after it) and may hold \" and
 * \\. Returns the item (malloc'd) or NULL after filling err. */
static char *scan_item(const char **p, bool *quoted, const char *field, struct query_error *err)
{
	const char *s = *p;
	*quoted = *s == '"';
	if (!*quoted) {
		size_t n = strcspn(s, ",");
		char *out = strndup(s, n);
		*p = s + n;
		if (!out)
			query_fail(err, field, "out of memory");
		return out;
	}
	char *out = malloc(strlen(s) + 1), *o = out;
	if (!out) {
		query_fail(err, field, "out of memory");
		return NULL;
	}
	for (s++; *s && *s != '"'; s++) {
		if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		*o++ = *s;
	}
	if (*s != '"') {
		free(out);
		query_fail(err, field, "%s has an unterminated double quote", field);
		return NULL;
	}
	*o = 0;
	*p = s + 1;
	return out;
}

/* Splits a comma list (select, in) into items. */
static int split_list(const char *s, const char *field, size_t max, struct strlist *out,
		      struct query_error *err)
{
	for (;;) {
		bool quoted;
		char *item = scan_item(&s, &quoted, field, err);
		if (!item)
			return -1;
		if (quoted && *s && *s != ',') {
			free(item);
			return query_fail(err, field, "%s: unexpected text after a quoted item", field);
		}
		if (out->n >= max) {
			free(item);
			return query_fail(err, field, "%s may list at most %zu items", field, max);
		}
		if (strlist_push(out, item) != 0)
			return query_fail(err, field, "out of memory");
		if (!*s)
			return 0;
		s++; /* the comma */
	}
}

static const char *const agg_names[] = {NULL, "sum", "avg", "min", "max", "count"};

const char *query_agg_name(enum query_agg agg)
{
	return agg_names[agg];
}

/* `.sum()` and the like at *p (after a column name): the aggregate, and *p
 * moved past it; QUERY_AGG_NONE when there is none. */
static enum query_agg scan_agg(const char **p)
{
	for (int a = QUERY_AGG_SUM; a <= QUERY_AGG_COUNT; a++) {
		size_t n = strlen(agg_names[a]);
		if ((*p)[0] == '.' && strncmp(*p + 1, agg_names[a], n) == 0 && strncmp(*p + 1 + n, "()", 2) == 0) {
			*p += n + 3;
			return (enum query_agg)a;
		}
	}
	return QUERY_AGG_NONE;
}

static int parse_select(const char *v, struct query_spec *spec, struct query_error *err)
{
	if (strcmp(v, "*") == 0)
		return 0;
	struct strlist l = {0};
	enum query_agg *aggs = NULL;
	bool any_agg = false;
	for (const char *s = v;;) {
		bool quoted;
		const char *start = s;
		char *item = scan_item(&s, &quoted, "select", err);
		if (!item)
			goto fail;
		enum query_agg agg = QUERY_AGG_NONE;
		if (quoted) {
			agg = scan_agg(&s); /* "a,b".sum() */
		} else if (strcmp(item, "count()") == 0) {
			agg = QUERY_AGG_COUNT;
			item[0] = 0;
		} else {
			/* the last ".fn()" of an unquoted item is the aggregate */
			char *dot = strrchr(item, '.');
			const char *rest = dot;
			if (dot && (agg = scan_agg(&rest)) != QUERY_AGG_NONE && !*rest)
				*dot = 0;
			else
				agg = QUERY_AGG_NONE;
		}
		if (quoted && *s && *s != ',') {
			free(item);
			query_fail(err, "select", "select: unexpected text after a quoted item (%.40s)", start);
			goto fail;
		}
		if (l.n >= QUERY_MAX_LIST) {
			free(item);
			query_fail(err, "select", "select may list at most %d items", QUERY_MAX_LIST);
			goto fail;
		}
		enum query_agg *grown = realloc(aggs, (l.n + 1) * sizeof *aggs);
		if (!grown || strlist_push(&l, item) != 0) {
			if (grown)
				aggs = grown;
			else
				free(item);
			query_fail(err, "select", "out of memory");
			goto fail;
		}
		aggs = grown;
		aggs[l.n - 1] = agg;
		any_agg = any_agg || agg != QUERY_AGG_NONE;
		if (!*s)
			break;
		s++; /* the comma */
	}
	for (size_t i = 0; i < l.n; i++) {
		if (!*l.items[i] && aggs[i] != QUERY_AGG_COUNT) {
			query_fail(err, "select", "select has an empty column name");
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(l.items[i], l.items[j]) == 0 && aggs[i] == aggs[j]) {
				if (aggs[i])
					query_fail(err, "select", "select lists %.64s%s%s() twice", l.items[i],
						   *l.items[i] ? "." : "", agg_names[aggs[i]]);
				else
					query_fail(err, "select", "select lists column '%.64s' twice", l.items[i]);
				goto fail;
			}
	}
	spec->select = l.items;
	spec->nselect = l.n;
	if (any_agg)
		spec->select_agg = aggs;
	else
		free(aggs);
	return 0;
fail:
	free(aggs);
	strlist_free(l.items, l.n);
	return -1;
}

/* Strips ".asc" or ".desc" from the end of s; returns 1 for desc, 0 for asc
 * (also when there is no suffix). */
static bool strip_direction(char *s)
{
	size_t n = strlen(s);
	if (n >= 4 && strcmp(s + n - 4, ".asc") == 0) {
		s[n - 4] = 0;
		return false;
	}
	if (n >= 5 && strcmp(s + n - 5, ".desc") == 0) {
		s[n - 5] = 0;
		return true;
	}
	return false;
}

static int parse_order(const char *s, struct query_spec *spec, struct query_error *err)
{
	for (;;) {
		bool quoted, desc = false;
		char *col = scan_item(&s, &quoted, "order", err);
		if (!col)
			return -1;
		if (quoted) {
			size_t n = strcspn(s, ",");
			if (n == 4 && strncmp(s, ".asc", 4) == 0)
				desc = false;
			else if (n == 5 && strncmp(s, ".desc", 5) == 0)
				desc = true;
			else if (n != 0) {
				free(col);
				return query_fail(err, "order", "order: after a quoted column only .asc or .desc may follow");
			}
			s += n;
		} else {
			desc = strip_direction(col);
		}
		if (!*col) {
			free(col);
			return query_fail(err, "order", "order has an empty column name; write order=column.asc|desc,...");
		}
		for (size_t j = 0; j < spec->norder; j++)
			if (strcmp(spec->order[j].column, col) == 0) {
				query_fail(err, "order", "order lists column '%.64s' twice", col);
				free(col);
				return -1;
			}
		if (spec->norder >= QUERY_MAX_LIST) {
			free(col);
			return query_fail(err, "order", "order may list at most %d columns", QUERY_MAX_LIST);
		}
		struct query_order *grown = realloc(spec->order, (spec->norder + 1) * sizeof *grown);
		if (!grown) {
			free(col);
			return query_fail(err, "order", "out of memory");
		}
		spec->order = grown;
		spec->order[spec->norder++] = (struct query_order){col, desc};
		if (!*s)
			return 0;
		s++;
	}
}

static int parse_limit(const char *v, struct query_spec *spec, struct query_error *err)
{
	if (strcmp(v, "all") == 0) {
		spec->limit_all = true;
		return 0;
	}
	size_t n = strlen(v);
	if (n == 0 || n > 9 || strspn(v, "0123456789") != n || (spec->limit = atoll(v)) < 1 ||
	    spec->limit > QUERY_LIMIT_MAX)
		return query_fail(err, "limit", "limit must be an integer from 1 to %d, or all (CSV only)",
				  QUERY_LIMIT_MAX);
	return 0;
}

static bool find_op(const char *s, size_t n, enum query_op *op)
{
	for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
		if (strlen(op_names[i]) == n && strncmp(s, op_names[i], n) == 0) {
			*op = (enum query_op)i;
			return true;
		}
	return false;
}

static int parse_is(const char *name, const char *v, struct query_filter *f, struct query_error *err)
{
	if (strcasecmp(v, "null") == 0)
		f->is = QUERY_IS_NULL;
	else if (strcasecmp(v, "not_null") == 0)
		f->is = QUERY_IS_NOT_NULL;
	else if (strcasecmp(v, "true") == 0)
		f->is = QUERY_IS_TRUE;
	else if (strcasecmp(v, "false") == 0)
		f->is = QUERY_IS_FALSE;
	else
		return query_fail(err, name, "%.64s: is takes null, not_null, true or false", name);
	return 0;
}

static int parse_in(const char *name, const char *v, struct query_filter *f, struct query_error *err)
{
	size_t n = strlen(v);
	if (n < 2 || v[0] != '(' || v[n - 1] != ')')
		return query_fail(err, name, "%.64s: in takes a parenthesised list, e.g. in.(a,b,\"c,d\")", name);
	if (n == 2)
		return 0; /* in.() matches nothing */
	char *inner = strndup(v + 1, n - 2);
	if (!inner)
		return query_fail(err, name, "out of memory");
	struct strlist l = {0};
	int rc = split_list(inner, name, QUERY_MAX_IN_ITEMS, &l, err);
	free(inner);
	f->values = l.items;
	f->nvalues = l.n;
	return rc;
}

static int parse_filter(const char *name, const char *v, struct query_spec *spec, struct query_error *err)
{
	if (!*name)
		return query_fail(err, "", "a query parameter has an empty name");
	if (spec->nfilters >= QUERY_MAX_FILTERS)
		return query_fail(err, name, "at most %d filters per request", QUERY_MAX_FILTERS);
	const char *dot = v ? strchr(v, '.') : NULL;
	enum query_op op;
	if (!dot || !find_op(v, (size_t)(dot - v), &op))
		return query_fail(err, name,
				  "filter %.64s must be op.value with op one of eq, neq, gt, gte, lt, lte, "
				  "like, ilike, in, is", name);
	struct query_filter *grown = realloc(spec->filters, (spec->nfilters + 1) * sizeof *grown);
	if (!grown)
		return query_fail(err, name, "out of memory");
	spec->filters = grown;
	struct query_filter *f = &spec->filters[spec->nfilters];
	*f = (struct query_filter){.op = op};
	if (!(f->column = strdup(name)))
		return query_fail(err, name, "out of memory");
	spec->nfilters++; /* owned by spec from here: freed with it on failure */
	const char *arg = dot + 1;
	if (op == QUERY_OP_IS)
		return parse_is(name, arg, f, err);
	if (op == QUERY_OP_IN)
		return parse_in(name, arg, f, err);
	f->values = malloc(sizeof *f->values);
	if (!f->values || !(f->values[0] = strdup(arg)))
		return query_fail(err, name, "out of memory");
	f->nvalues = 1;
	if (op == QUERY_OP_LIKE || op == QUERY_OP_ILIKE) {
		/* A pattern ending in an unpaired escape is an error only when
		 * PostgreSQL reaches its end, i.e. depending on the data. */
		size_t n = strlen(arg), esc = 0;
		while (esc < n && arg[n - 1 - esc] == '\\')
			esc++;
		if (esc % 2)
			return query_fail(err, name, "%.64s: a like pattern may not end with the escape character \\ "
					  "(write \\\\ for a backslash)", name);
		for (char *c = f->values[0]; *c; c++)
			if (*c == '*')
				*c = '%';
	}
	return 0;
}

int query_parse(const struct query_arg *args, size_t nargs, struct query_spec *out,
		struct query_error *err)
{
	static const char *const reserved[] = {"select", "order", "limit", "after"};
	bool seen[4] = {false};
	*out = (struct query_spec){.limit = QUERY_LIMIT_DEFAULT};
	for (size_t i = 0; i < nargs; i++) {
		const char *name = args[i].name, *v = args[i].value ? args[i].value : "";
		int r = -2;
		for (int k = 0; k < 4 && r == -2; k++) {
			if (strcmp(name, reserved[k]) != 0)
				continue;
			if (seen[k]) {
				r = query_fail(err, name, "%s is given twice", name);
				break;
			}
			seen[k] = true;
			if (k == 0)
				r = parse_select(v, out, err);
			else if (k == 1)
				r = parse_order(v, out, err);
			else if (k == 2)
				r = parse_limit(v, out, err);
			else if (!*v)
				r = query_fail(err, "after", "after is empty; pass the cursor from the previous page's next link");
			else
				r = (out->after = strdup(v)) ? 0 : query_fail(err, "after", "out of memory");
		}
		if (r == -2)
			r = parse_filter(name, args[i].value, out, err);
		if (r != 0) {
			query_spec_free(out);
			return -1;
		}
	}
	return 0;
}

void query_spec_free(struct query_spec *spec)
{
	strlist_free(spec->select, spec->nselect);
	free(spec->select_agg);
	for (size_t i = 0; i < spec->nfilters; i++) {
		free(spec->filters[i].column);
		strlist_free(spec->filters[i].values, spec->filters[i].nvalues);
	}
	free(spec->filters);
	for (size_t i = 0; i < spec->norder; i++)
		free(spec->order[i].column);
	free(spec->order);
	free(spec->after);
	*spec = (struct query_spec){0};
}
