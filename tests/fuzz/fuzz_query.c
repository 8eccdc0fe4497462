/* Fuzz target: the query API's query string (query/parse.c), the keyset
 * cursor (query/cursor.c) and the SQL builder on the parser's output
 * (query/build.c), against a fake catalog of four relations.
 *
 * The input is a raw query string ("a=b&c=d"), split and percent-decoded the
 * way the HTTP layer does (server/http.c: %00 stays encoded). Besides the
 * sanitizers, every built plan is checked:
 *  - the SQL holds only quoted identifiers of the relation, keywords,
 *    operators, `$n` parameters, `::type` casts to the relation's own types
 *    and the LIMIT/OFFSET numbers: no quote character, no value text;
 *  - every filter value, `in` item and non-NULL cursor value is exactly one
 *    bound parameter, in order, named after the query parameter it came from;
 *  - every `$n` is in range and every parameter is used;
 *  - a cursor made from the plan is accepted by the same request and binds
 *    its values as parameters too (and is refused by another relation).
 * A violated invariant aborts, which libFuzzer reports as a crash. */
#include "tests/fuzz/fuzz.h"
#include "lib/base64.h"
#include "query/build.h"
#include "query/cursor.h"
#include "query/query.h"

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 256

/* --- the fake catalog ------------------------------------------------ */

static struct query_column vendas_cols[] = {
	{"id", "bigint", QUERY_KIND_NUMBER, true, true, 1},
	{"data_venda", "timestamp with time zone", QUERY_KIND_TEXT, true, true, 0},
	{"total", "numeric", QUERY_KIND_NUMBER, true, false, 0},
	{"uf", "text", QUERY_KIND_TEXT, true, false, 0},
	{"nome", "text", QUERY_KIND_TEXT, true, false, 0},
	{"ativo", "boolean", QUERY_KIND_BOOL, true, false, 0},
	{"extra", "json", QUERY_KIND_JSON, false, false, 0},
	{"we\"ird,col.desc", "text", QUERY_KIND_TEXT, true, false, 0},
};
/* a view: no key, so every sortable column is a sort key */
static struct query_column resumo_cols[] = {
	{"dia", "date", QUERY_KIND_TEXT, true, false, 0},
	{"uf", "text", QUERY_KIND_TEXT, true, false, 0},
	{"total", "numeric", QUERY_KIND_NUMBER, true, false, 0},
	{"payload", "jsonb", QUERY_KIND_JSON, false, false, 0},
};
/* a two-column key declared in the other order */
static struct query_column itens_cols[] = {
	{"quantidade", "integer", QUERY_KIND_NUMBER, true, true, 0},
	{"item", "smallint", QUERY_KIND_NUMBER, true, true, 2},
	{"venda_id", "bigint", QUERY_KIND_NUMBER, true, true, 1},
};
/* nothing sortable: only limit=all may read it */
static struct query_column blobs_cols[] = {
	{"doc", "json", QUERY_KIND_JSON, false, false, 0},
};
static const struct query_table tables[] = {
	{"trusted", "marketplace_vendas", vendas_cols, 8, 1, NULL},
	{"refined", "resumo", resumo_cols, 4, 0, NULL},
	{"trusted", "marketplace_itens", itens_cols, 3, 2, NULL},
	{"refined", "blobs", blobs_cols, 1, 0, NULL},
};
#define NTABLES (sizeof tables / sizeof tables[0])

static char *quote(void *ctx, const char *ident)
{
	(void)ctx;
	char *out = malloc(strlen(ident) * 2 + 3), *o = out;
	if (!out)
		return NULL;
	*o++ = '"';
	for (const char *s = ident; *s; s++) {
		if (*s == '"')
			*o++ = '"';
		*o++ = *s;
	}
	*o++ = '"';
	*o = 0;
	return out;
}

/* --- the SQL lexer check --------------------------------------------- */

static bool is_ident_of(const struct query_table *t, const char *id)
{
	if (strcmp(id, t->schema) == 0 || strcmp(id, t->name) == 0)
		return true;
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(id, t->cols[i].name) == 0)
			return true;
	return false;
}

/* Length of the longest type of t (or "text") that `s` starts with, 0 if none. */
static size_t type_at(const struct query_table *t, const char *s)
{
	size_t best = strncmp(s, "text", 4) == 0 ? 4 : 0;
	for (size_t i = 0; i < t->ncols; i++) {
		size_t n = strlen(t->cols[i].type);
		if (n > best && strncmp(s, t->cols[i].type, n) == 0)
			best = n;
	}
	return best;
}

static bool keyword(const char *w, size_t n)
{
	static const char *const kw[] = {"SELECT", "FROM", "WHERE", "AND", "OR", "IN", "IS", "NOT", "NULL",
					 "TRUE", "FALSE", "false", "LIKE", "ILIKE", "ORDER", "BY", "ASC",
					 "DESC", "LIMIT", "OFFSET", "GROUP", "sum", "avg", "min", "max", "count", NULL};
	for (const char *const *k = kw; *k; k++)
		if (strlen(*k) == n && strncmp(*k, w, n) == 0)
			return true;
	return false;
}

/* Checks one statement; marks the parameters it uses. */
static void check_sql(const char *sql, const struct query_table *t, int nparams, bool *used)
{
	const char *p = sql, *prev_word = "";
	size_t prev_len = 0;
	char ident[1024];
	CHECK(sql != NULL);
	while (*p) {
		if (*p == '"') {
			size_t o = 0;
			for (p++;; p++) {
				CHECK(*p != 0);
				if (*p == '"' && p[1] == '"')
					p++;
				else if (*p == '"')
					break;
				CHECK(o + 1 < sizeof ident);
				ident[o++] = *p;
			}
			ident[o] = 0;
			p++;
			CHECK(is_ident_of(t, ident));
		} else if (*p == '$') {
			char *end;
			long k = strtol(p + 1, &end, 10);
			CHECK(end > p + 1 && k >= 1 && k <= nparams);
			if (used)
				used[k - 1] = true;
			p = end;
		} else if (p[0] == ':' && p[1] == ':') {
			size_t n = type_at(t, p + 2);
			CHECK(n > 0);
			p += 2 + n;
		} else if (isalpha((unsigned char)*p)) {
			const char *w = p;
			while (isalpha((unsigned char)*p) || *p == '_')
				p++;
			CHECK(keyword(w, (size_t)(p - w)));
			prev_word = w;
			prev_len = (size_t)(p - w);
			continue;
		} else if (isdigit((unsigned char)*p)) {
			CHECK((prev_len == 5 && strncmp(prev_word, "LIMIT", 5) == 0) ||
			      (prev_len == 6 && strncmp(prev_word, "OFFSET", 6) == 0));
			while (isdigit((unsigned char)*p))
				p++;
		} else {
			/* . between schema and table; * only in count(*) */
			CHECK(strchr(" ,.()=<>", *p) != NULL || (*p == '*' && p > sql + 6 && strncmp(p - 6, "count(*)", 8) == 0));
			p++;
		}
	}
}

/* --- the plan's parameters ------------------------------------------- */

/* Every value of the spec, in the order query_build binds them. */
static void check_params(const struct query_spec *spec, const struct query_plan *plan, char **cursor_vals,
			 size_t nkeys)
{
	int k = 0;
	for (size_t i = 0; i < spec->nfilters; i++) {
		const struct query_filter *f = &spec->filters[i];
		if (f->op == QUERY_OP_IS)
			continue;
		for (size_t j = 0; j < f->nvalues; j++, k++) {
			CHECK(k < plan->nparams);
			CHECK(strcmp(plan->params[k].value, f->values[j]) == 0);
			CHECK(strcmp(plan->params[k].field, f->column) == 0);
			CHECK(plan->params[k].op == f->op);
			CHECK((plan->params[k].cast == NULL) == (f->op == QUERY_OP_LIKE || f->op == QUERY_OP_ILIKE));
		}
	}
	for (size_t i = 0; cursor_vals && i < nkeys; i++) {
		if (!cursor_vals[i])
			continue;
		CHECK(k < plan->nparams);
		CHECK(strcmp(plan->params[k].value, cursor_vals[i]) == 0);
		CHECK(strcmp(plan->params[k].field, "after") == 0);
		k++;
	}
	CHECK(k == plan->nparams);
	for (int i = 0; i < plan->nparams; i++)
		CHECK(plan->values[i] == plan->params[i].value);
	CHECK(plan->values[plan->nparams] == NULL);
}

static void check_plan(const struct query_spec *spec, const struct query_table *t, const struct query_plan *plan,
		       char **cursor_vals)
{
	bool used[4096] = {false};
	CHECK(plan->nparams >= 0 && (size_t)plan->nparams <= sizeof used / sizeof used[0]);
	check_sql(plan->sql, t, plan->nparams, used);
	if (plan->probe_sql)
		check_sql(plan->probe_sql, t, plan->nparams, used);
	for (int i = 0; i < plan->nparams; i++)
		CHECK(used[i]);
	/* a page of up to QUERY_WHOLE_PAGE_MAX rows is read whole, with its sort key: no probe */
	CHECK(plan->whole == (!spec->limit_all && !plan->one_row && spec->limit <= QUERY_WHOLE_PAGE_MAX));
	CHECK((plan->probe_sql == NULL) == (spec->limit_all || plan->one_row || plan->whole));
	CHECK(plan->nout <= (spec->select ? spec->nselect : t->ncols) && plan->nkeys <= t->ncols);
	for (size_t i = 0; i < plan->nout; i++)
		CHECK(plan->out_cols[i] < t->ncols || (plan->out_aggs[i] == QUERY_AGG_COUNT && plan->out_cols[i] == SIZE_MAX));
	check_params(spec, plan, cursor_vals, plan->nkeys);
	for (int i = 0; i < plan->nparams; i++) {
		char *s = query_param_check_sql(&plan->params[i]);
		if (s) /* NULL only when out of memory */
			check_sql(s, t, 1, NULL);
		free(s);
	}
}

/* A cursor from the plan's own signature: the next page of the same request
 * must build, binding the cursor's values. */
static void check_cursor_round_trip(struct query_spec *spec, const struct query_table *t,
				    const struct query_plan *plan)
{
	static const char *const samples[] = {"42", NULL, "2026-12-01 10:00:00+00", "O'Brien\\\"", "é,)(.*"};
	const char *keys[16];
	size_t n = plan->nkeys < 16 ? plan->nkeys : 16;
	if (plan->nkeys > 16 || spec->limit_all)
		return;
	for (size_t i = 0; i < n; i++)
		keys[i] = samples[(i + (size_t)spec->nfilters) % 5];
	char *cur = query_plan_cursor(plan, keys);
	CHECK(cur != NULL);
	char *saved = spec->after;
	spec->after = cur;
	struct query_plan next;
	struct query_error err;
	int r = query_build(spec, t, quote, NULL, &next, &err);
	CHECK(r == 0);
	check_plan(spec, t, &next, (char **)keys);
	query_plan_free(&next);
	/* the same cursor on another relation is refused, never misread */
	for (size_t o = 0; o < NTABLES; o++) {
		if (&tables[o] == t)
			continue;
		r = query_build(spec, &tables[o], quote, NULL, &next, &err);
		CHECK(r != 0 || spec->after == NULL);
		query_plan_free(&next);
	}
	spec->after = saved;
	free(cur);
}

/* --- the input ------------------------------------------------------- */

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* libmicrohttpd's '+' -> ' ', then server/http.c's unescape_no_nul. */
static void unescape(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '+')
			*p = ' ';
	char *w = s;
	for (const char *r = s; *r;) {
		if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2]) &&
		    !(r[1] == '0' && r[2] == '0')) {
			*w++ = (char)(hexval((unsigned char)r[1]) * 16 + hexval((unsigned char)r[2]));
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536 || memchr(data, 0, size))
		return 0; /* a URL never holds a NUL byte */
	char *qs = malloc(size + 1);
	if (!qs)
		return 0;
	memcpy(qs, data, size);
	qs[size] = 0;

	struct query_arg args[MAX_ARGS];
	size_t nargs = 0;
	/* as libmicrohttpd splits: at every '&' (empty names too), until the end */
	for (char *p = qs, *amp; p && *p && nargs < MAX_ARGS; p = amp) {
		if ((amp = strchr(p, '&')))
			*amp++ = 0;
		char *eq = strchr(p, '=');
		if (eq) {
			*eq = 0;
			unescape(eq + 1);
		}
		unescape(p);
		args[nargs++] = (struct query_arg){p, eq ? eq + 1 : NULL};
	}

	struct query_spec spec;
	struct query_error err;
	memset(&err, 0, sizeof err);
	if (query_parse(args, nargs, &spec, &err) != 0) {
		CHECK(spec.filters == NULL && spec.select == NULL && spec.order == NULL && spec.after == NULL);
		CHECK(memchr(err.field, 0, sizeof err.field) && memchr(err.detail, 0, sizeof err.detail));
		CHECK(err.detail[0] != 0);
		goto out;
	}
	CHECK(spec.limit_all || (spec.limit >= 1 && spec.limit <= QUERY_LIMIT_MAX));
	CHECK(spec.nfilters <= QUERY_MAX_FILTERS);
	for (size_t i = 0; i < spec.nfilters; i++) {
		const struct query_filter *f = &spec.filters[i];
		CHECK(f->op == QUERY_OP_IS ? f->nvalues == 0 : f->op == QUERY_OP_IN || f->nvalues == 1);
	}
	for (size_t i = 0; i < NTABLES; i++) {
		struct query_plan plan;
		int r = query_build(&spec, &tables[i], quote, NULL, &plan, &err);
		CHECK(r == 0 || r == -1);
		if (r != 0) {
			CHECK(plan.sql == NULL && plan.params == NULL);
			CHECK(err.detail[0] != 0);
			continue;
		}
		char **cursor_vals = NULL;
		if (spec.after)
			CHECK(query_cursor_decode(spec.after, plan.signature, plan.nkeys, &cursor_vals) == 0);
		check_plan(&spec, &tables[i], &plan, cursor_vals);
		query_cursor_values_free(cursor_vals, plan.nkeys);
		if (!spec.after)
			check_cursor_round_trip(&spec, &tables[i], &plan);
		query_plan_free(&plan);
	}
	/* the codec alone: what decodes re-encodes to bytes that decode the same */
	if (spec.after) {
		size_t n, m;
		unsigned char *raw = base64url_decode(spec.after, &n);
		if (raw) {
			char *again = base64url_encode(raw, n);
			CHECK(again != NULL);
			unsigned char *raw2 = base64url_decode(again, &m);
			CHECK(raw2 && m == n && memcmp(raw, raw2, n) == 0);
			free(raw2);
			free(again);
		}
		free(raw);
	}
	query_spec_free(&spec);
out:
	free(qs);
	return 0;
}
