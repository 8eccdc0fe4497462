/* The query API's pure parts: the query-string parser (every operator, bad
 * syntax, quoted in-lists), the cursor codec, the SQL builder (filters,
 * catalog checks, keyset SQL in uniform and mixed directions, NULL-aware)
 * and the JSON/CSV value writers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/build.h"
#include "lib/base64.h"
#include "query/cursor.h"
#include "query/format.h"
#include "query/query.h"

/* --- helpers ------------------------------------------------------------- */

/* Parses "a=b&c=d" (no decoding) into args; returns query_parse's result. */
static int parse_qs(const char *qs, struct query_spec *spec, struct query_error *err)
{
	static char copy[4096];
	struct query_arg args[32];
	size_t n = 0;
	strcpy(copy, qs);
	for (char *save = NULL, *p = strtok_r(copy, "&", &save); p && n < 32; p = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(p, '=');
		if (eq)
			*eq = 0;
		args[n++] = (struct query_arg){p, eq ? eq + 1 : NULL};
	}
	return query_parse(args, n, spec, err);
}

static void expect_parse_error(const char *qs, const char *field, const char *detail_part)
{
	struct query_spec spec;
	struct query_error err;
	assert_int_equal(parse_qs(qs, &spec, &err), -1);
	assert_string_equal(err.field, field);
	if (detail_part && !strstr(err.detail, detail_part))
		fail_msg("detail '%s' lacks '%s'", err.detail, detail_part);
	assert_null(spec.filters);
	assert_null(spec.select);
}

static char *test_quote(void *ctx, const char *ident)
{
	(void)ctx;
	char *out = malloc(strlen(ident) * 2 + 3), *o = out;
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

/* trusted.vendas(id bigint pk, data_venda date, total numeric null, uf text,
 * nome text, ativo boolean, extra json, "we""ird" text) */
static struct query_column vendas_cols[] = {
	{"id", "bigint", QUERY_KIND_NUMBER, true, true, 1},
	{"data_venda", "date", QUERY_KIND_TEXT, true, true, 0},
	{"total", "numeric", QUERY_KIND_NUMBER, true, false, 0},
	{"uf", "text", QUERY_KIND_TEXT, true, false, 0},
	{"nome", "text", QUERY_KIND_TEXT, true, false, 0},
	{"ativo", "boolean", QUERY_KIND_BOOL, true, false, 0},
	{"extra", "json", QUERY_KIND_JSON, false, false, 0},
	{"we\"ird", "text", QUERY_KIND_TEXT, true, false, 0},
};
static struct query_table vendas = {"trusted", "vendas", vendas_cols, 8, 1, NULL};

/* refined.resumo: a view, no key. */
static struct query_column resumo_cols[] = {
	{"dia", "date", QUERY_KIND_TEXT, true, false, 0},
	{"doc", "json", QUERY_KIND_JSON, false, false, 0},
	{"valor", "numeric", QUERY_KIND_NUMBER, true, false, 0},
};
static struct query_table resumo = {"refined", "resumo", resumo_cols, 3, 0, NULL};

/* A plan and the spec it borrows from. */
struct built {
	struct query_spec spec;
	struct query_plan plan;
};

static int build(const char *qs, const struct query_table *t, struct built *b, struct query_error *err)
{
	if (parse_qs(qs, &b->spec, err) != 0)
		return -10;
	int rc = query_build(&b->spec, t, test_quote, NULL, &b->plan, err);
	if (rc != 0)
		query_spec_free(&b->spec);
	return rc;
}

static void built_free(struct built *b)
{
	query_plan_free(&b->plan);
	query_spec_free(&b->spec);
}

/* --- parser -------------------------------------------------------------- */

static void parses_every_operator(void **state)
{
	struct query_spec s;
	struct query_error e;
	assert_int_equal(parse_qs("a=eq.1&b=neq.x.y&c=gt.1.5&d=gte.-2&e=lt.z&f=lte.&g=like.*fone*"
				  "&h=ilike.A*&i=in.(SP,RJ)&j=is.null&k=is.NOT_NULL&l=is.true&m=is.false", &s, &e), 0);
	assert_int_equal(s.nfilters, 13);
	enum query_op ops[] = {QUERY_OP_EQ, QUERY_OP_NEQ, QUERY_OP_GT, QUERY_OP_GTE, QUERY_OP_LT, QUERY_OP_LTE,
			       QUERY_OP_LIKE, QUERY_OP_ILIKE, QUERY_OP_IN, QUERY_OP_IS, QUERY_OP_IS, QUERY_OP_IS,
			       QUERY_OP_IS};
	for (int i = 0; i < 13; i++)
		assert_int_equal(s.filters[i].op, ops[i]);
	assert_string_equal(s.filters[0].values[0], "1");
	assert_string_equal(s.filters[1].values[0], "x.y"); /* only the first dot splits */
	assert_string_equal(s.filters[2].values[0], "1.5");
	assert_string_equal(s.filters[5].values[0], "");
	assert_string_equal(s.filters[6].values[0], "%fone%");
	assert_string_equal(s.filters[7].values[0], "A%");
	assert_int_equal(s.filters[8].nvalues, 2);
	assert_string_equal(s.filters[8].values[1], "RJ");
	assert_int_equal(s.filters[9].is, QUERY_IS_NULL);
	assert_int_equal(s.filters[10].is, QUERY_IS_NOT_NULL);
	assert_int_equal(s.filters[11].is, QUERY_IS_TRUE);
	assert_int_equal(s.filters[12].is, QUERY_IS_FALSE);
	assert_int_equal(s.limit, QUERY_LIMIT_DEFAULT);
	assert_false(s.limit_all);
	query_spec_free(&s);
}

static void parses_in_lists_with_quotes(void **state)
{
	struct query_spec s;
	struct query_error e;
	assert_int_equal(parse_qs("uf=in.(\"a,b\",c,\"say \\\"hi\\\"\",\"back\\\\slash\",\"\",(x))&n=in.()", &s, &e), 0);
	assert_int_equal(s.filters[0].nvalues, 6);
	assert_string_equal(s.filters[0].values[0], "a,b");
	assert_string_equal(s.filters[0].values[1], "c");
	assert_string_equal(s.filters[0].values[2], "say \"hi\"");
	assert_string_equal(s.filters[0].values[3], "back\\slash");
	assert_string_equal(s.filters[0].values[4], "");
	assert_string_equal(s.filters[0].values[5], "(x)");
	assert_int_equal(s.filters[1].nvalues, 0);
	query_spec_free(&s);
	expect_parse_error("uf=in.(\"a,b)", "uf", "unterminated");
	expect_parse_error("uf=in.(\"a\"b)", "uf", "after a quoted item");
	expect_parse_error("uf=in.SP,RJ", "uf", "parenthesised");
	expect_parse_error("uf=in.(SP", "uf", "parenthesised");
}

static void parses_select_order_limit_after(void **state)
{
	struct query_spec s;
	struct query_error e;
	assert_int_equal(parse_qs("select=id,\"a,b\",total&order=data_venda.desc,id.asc,nome,\"x.y\".desc,\"p,q\""
				  "&limit=50&after=abc", &s, &e), 0);
	assert_int_equal(s.nselect, 3);
	assert_string_equal(s.select[1], "a,b");
	assert_int_equal(s.norder, 5);
	assert_string_equal(s.order[0].column, "data_venda");
	assert_true(s.order[0].desc);
	assert_false(s.order[1].desc);
	assert_string_equal(s.order[2].column, "nome");
	assert_false(s.order[2].desc);
	assert_string_equal(s.order[3].column, "x.y");
	assert_true(s.order[3].desc);
	assert_string_equal(s.order[4].column, "p,q");
	assert_int_equal(s.limit, 50);
	assert_string_equal(s.after, "abc");
	query_spec_free(&s);

	assert_int_equal(parse_qs("select=*&limit=all", &s, &e), 0);
	assert_null(s.select);
	assert_true(s.limit_all);
	query_spec_free(&s);
	assert_int_equal(parse_qs("limit=10000", &s, &e), 0);
	assert_int_equal(s.limit, 10000);
	query_spec_free(&s);
}

static void refuses_bad_syntax(void **state)
{
	expect_parse_error("total=100", "total", "op.value");
	expect_parse_error("total=between.1.2", "total", "op.value");
	expect_parse_error("total", "total", "op.value");
	expect_parse_error("x=is.maybe", "x", "null, not_null");
	expect_parse_error("limit=0", "limit", "1 to 10000");
	expect_parse_error("limit=10001", "limit", "1 to 10000");
	expect_parse_error("limit=-5", "limit", NULL);
	expect_parse_error("limit=abc", "limit", NULL);
	expect_parse_error("limit=", "limit", NULL);
	expect_parse_error("limit=5&limit=6", "limit", "twice");
	expect_parse_error("select=a,,b", "select", "empty column");
	expect_parse_error("select=", "select", "empty column");
	expect_parse_error("select=a,a", "select", "twice");
	expect_parse_error("order=a.desc,a", "order", "twice");
	expect_parse_error("order=.desc", "order", "empty column");
	expect_parse_error("order=\"a\".up", "order", ".asc or .desc");
	expect_parse_error("after=", "after", "empty");
	expect_parse_error("=eq.1", "", "empty name");
	/* an error after some filters leaves nothing allocated (ASan checks) */
	expect_parse_error("a=eq.1&b=in.(1,2)&c=zz.1", "c", NULL);
}

/* --- cursor -------------------------------------------------------------- */

static void base64url_round_trips(void **state)
{
	const unsigned char data[] = {0xfb, 0xff, 0x00, 'a', 0x3e, 0x3f};
	for (size_t len = 0; len <= sizeof data; len++) {
		char *t = base64url_encode(data, len);
		assert_null(strpbrk(t, "+/="));
		size_t back;
		unsigned char *d = base64url_decode(t, &back);
		assert_non_null(d);
		assert_int_equal(back, len);
		assert_memory_equal(d, data, len);
		free(t);
		free(d);
	}
	size_t n;
	assert_null(base64url_decode("ab+c", &n));
	assert_null(base64url_decode("abcde", &n));
}

static void cursor_round_trips_and_checks(void **state)
{
	const char *vals[] = {"2024-01-31", NULL, "it's \"quoted\", ação ✓", ""};
	char *c = query_cursor_encode("0123456789abcdef", vals, 4);
	assert_non_null(c);
	char **back;
	assert_int_equal(query_cursor_decode(c, "0123456789abcdef", 4, &back), 0);
	assert_string_equal(back[0], vals[0]);
	assert_null(back[1]);
	assert_string_equal(back[2], vals[2]);
	assert_string_equal(back[3], "");
	query_cursor_values_free(back, 4);
	assert_int_equal(query_cursor_decode(c, "fedcba9876543210", 4, &back), -2);
	assert_int_equal(query_cursor_decode(c, "0123456789abcdef", 3, &back), -2);
	free(c);
	assert_int_equal(query_cursor_decode("not a cursor!", "x", 1, &back), -1);
	char *junk = base64url_encode((const unsigned char *)"[1,2]", 5);
	assert_int_equal(query_cursor_decode(junk, "x", 1, &back), -1);
	free(junk);
	junk = base64url_encode((const unsigned char *)"{\"h\":\"x\",\"k\":[5]}", 17);
	assert_int_equal(query_cursor_decode(junk, "x", 1, &back), -1); /* values are strings or null */
	free(junk);
}

/* --- builder ------------------------------------------------------------- */

static void builds_filters_with_bound_casts(void **state)
{
	struct built p;
	struct query_error e;
	assert_int_equal(build("select=id,total&total=gt.100&uf=in.(SP,RJ)&nome=ilike.*fone*&ativo=is.true"
			       "&data_venda=lte.2024-01-31&uf=neq.MG&total=is.not_null&limit=50", &vendas, &p, &e), 0);
	/* a whole page: the outputs, the sort key, one row more; no probe */
	assert_string_equal(p.plan.sql,
		"SELECT \"id\", \"total\", \"id\" FROM \"trusted\".\"vendas\" WHERE \"total\" > $1::numeric"
		" AND \"uf\" IN ($2::text, $3::text) AND \"nome\"::text ILIKE $4 AND \"ativo\" IS TRUE"
		" AND \"data_venda\" <= $5::date AND \"uf\" <> $6::text AND \"total\" IS NOT NULL"
		" ORDER BY \"id\" ASC LIMIT 51");
	assert_true(p.plan.whole);
	assert_null(p.plan.probe_sql);
	assert_int_equal(p.plan.nparams, 6);
	assert_string_equal(p.plan.values[0], "100");
	assert_string_equal(p.plan.values[3], "%fone%");
	assert_string_equal(p.plan.params[1].field, "uf");
	assert_string_equal(p.plan.params[1].cast, "text");
	assert_null(p.plan.params[3].cast);
	char *check = query_param_check_sql(&p.plan.params[0]);
	assert_string_equal(check, "SELECT $1::numeric");
	free(check);
	check = query_param_check_sql(&p.plan.params[3]);
	assert_string_equal(check, "SELECT $1::text ILIKE $1::text");
	free(check);
	assert_int_equal(p.plan.nout, 2);
	assert_int_equal(p.plan.nkeys, 1);
	assert_int_equal(p.plan.limit, 50);
	built_free(&p);

	assert_int_equal(build("uf=in.()&we\"ird=eq.'; drop table x; --&limit=all", &vendas, &p, &e), 0);
	assert_string_equal(p.plan.sql,
		"SELECT \"id\", \"data_venda\", \"total\", \"uf\", \"nome\", \"ativo\", \"extra\", \"we\"\"ird\""
		" FROM \"trusted\".\"vendas\" WHERE false AND \"we\"\"ird\" = $1::text ORDER BY \"id\" ASC");
	assert_null(p.plan.probe_sql);
	assert_int_equal(p.plan.limit, -1);
	assert_string_equal(p.plan.values[0], "'; drop table x; --");
	built_free(&p);
}

static void builds_aggregates_grouped_by_plain_columns(void **state)
{
	struct built p;
	struct query_error e;
	assert_int_equal(build("select=uf,total.sum(),count(),total.max()&ativo=is.true&order=uf.desc&limit=10",
			       &vendas, &p, &e), 0);
	assert_string_equal(p.plan.sql,
		"SELECT \"uf\", sum(\"total\"), count(*), max(\"total\"), \"uf\" FROM \"trusted\".\"vendas\""
		" WHERE \"ativo\" IS TRUE GROUP BY \"uf\" ORDER BY \"uf\" DESC LIMIT 11");
	assert_null(p.plan.probe_sql);
	assert_string_equal(p.plan.count_sql,
		"SELECT count(*) FROM (SELECT 1 FROM \"trusted\".\"vendas\" WHERE \"ativo\" IS TRUE GROUP BY \"uf\") g");
	assert_int_equal(p.plan.nout, 4);
	assert_string_equal(p.plan.out_names[0], "uf");
	assert_string_equal(p.plan.out_names[1], "total_sum");
	assert_string_equal(p.plan.out_names[2], "count");
	assert_string_equal(p.plan.out_names[3], "total_max");
	assert_int_equal(p.plan.out_kinds[2], QUERY_KIND_NUMBER);
	assert_int_equal(p.plan.nkeys, 1);
	built_free(&p);

	/* no grouping: one row, nothing to page */
	assert_int_equal(build("select=total.avg()", &vendas, &p, &e), 0);
	assert_string_equal(p.plan.sql, "SELECT avg(\"total\") FROM \"trusted\".\"vendas\" LIMIT 100");
	assert_null(p.plan.probe_sql);
	assert_true(p.plan.one_row);
	built_free(&p);

	/* a quoted column may be aggregated; a quoted "x.sum()" is a column name */
	assert_int_equal(build("select=\"we\\\"ird\".count()", &vendas, &p, &e), 0);
	assert_string_equal(p.plan.out_names[0], "we\"ird_count");
	built_free(&p);
	assert_int_equal(build("select=\"total.sum()\"", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "select");

	assert_int_equal(build("select=nome.sum()", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "select");
	assert_non_null(strstr(e.detail, "sum() needs a number column"));
	assert_int_equal(build("select=uf,total.sum()&order=total.desc", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "order");
	assert_int_equal(build("select=extra,count()", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "select");
	expect_parse_error("select=total.sum(),total.sum()", "select", "twice");
}

static void refuses_what_the_catalog_does_not_allow(void **state)
{
	struct built p;
	struct query_error e;
	assert_int_equal(build("nope=eq.1", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "nope");
	assert_int_equal(build("select=id,nope", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "select");
	assert_non_null(strstr(e.detail, "nope"));
	assert_int_equal(build("order=nope.desc", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "order");
	assert_int_equal(build("order=extra", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "order");
	assert_int_equal(build("extra=eq.{}", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "extra");
	assert_int_equal(build("total=is.true", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "total");
	assert_int_equal(build("extra=is.null&extra=like.*a*", &vendas, &p, &e), 0);
	built_free(&p);
	assert_int_equal(build("after=garbage", &vendas, &p, &e), -1);
	assert_string_equal(e.field, "after");
}

/* The cursor the probe would make from a row with these key values. */
static char *cursor_for(const char *qs, const struct query_table *t, const char *const *keys)
{
	struct built p;
	struct query_error e;
	assert_int_equal(build(qs, t, &p, &e), 0);
	char *c = query_plan_cursor(&p.plan, keys);
	built_free(&p);
	return c;
}

static void keyset_uniform_uses_row_comparison(void **state)
{
	struct built p;
	struct query_error e;
	const char *k1[] = {"2024-01-31", "77"};
	char *c = cursor_for("order=data_venda.desc", &vendas, k1);
	char qs[512];
	snprintf(qs, sizeof qs, "order=data_venda.desc&after=%s", c);
	assert_int_equal(build(qs, &vendas, &p, &e), 0);
	/* data_venda desc, id asc: mixed, expanded; data_venda is NOT NULL so it leads */
	assert_string_equal(p.plan.sql,
		"SELECT \"id\", \"data_venda\", \"total\", \"uf\", \"nome\", \"ativo\", \"extra\", \"we\"\"ird\","
		" \"data_venda\", \"id\""
		" FROM \"trusted\".\"vendas\" WHERE \"data_venda\" <= $1::date AND"
		" ((\"data_venda\" < $1::date) OR (\"data_venda\" = $1::date AND \"id\" > $2::bigint))"
		" ORDER BY \"data_venda\" DESC, \"id\" ASC LIMIT 101");
	assert_string_equal(p.plan.params[0].field, "after");
	built_free(&p);
	/* a cursor is tied to its order */
	snprintf(qs, sizeof qs, "order=data_venda.asc&after=%s", c);
	assert_int_equal(build(qs, &vendas, &p, &e), -1);
	assert_string_equal(e.field, "after");
	assert_non_null(strstr(e.detail, "another table or order"));
	free(c);

	const char *k2[] = {"2024-01-31", "77"};
	c = cursor_for("order=data_venda", &vendas, k2);
	snprintf(qs, sizeof qs, "order=data_venda&total=gt.5&after=%s&select=id", c);
	assert_int_equal(build(qs, &vendas, &p, &e), 0);
	assert_string_equal(p.plan.sql,
		"SELECT \"id\", \"data_venda\", \"id\" FROM \"trusted\".\"vendas\" WHERE \"total\" > $1::numeric AND"
		" (\"data_venda\", \"id\") > ($2::date, $3::bigint)"
		" ORDER BY \"data_venda\" ASC, \"id\" ASC LIMIT 101");
	built_free(&p);
	free(c);
}

static void keyset_mixed_is_null_aware(void **state)
{
	struct built p;
	struct query_error e;
	char qs[512];
	/* total (nullable) desc, uf (nullable) asc, id asc */
	const char *k[] = {"10.5", "SP", "9"};
	char *c = cursor_for("order=total.desc,uf", &vendas, k);
	snprintf(qs, sizeof qs, "order=total.desc,uf&after=%s&select=id", c);
	assert_int_equal(build(qs, &vendas, &p, &e), 0);
	assert_string_equal(p.plan.sql,
		"SELECT \"id\", \"total\", \"uf\", \"id\" FROM \"trusted\".\"vendas\" WHERE"
		" ((\"total\" < $1::numeric)"
		" OR (\"total\" = $1::numeric AND (\"uf\" > $2::text OR \"uf\" IS NULL))"
		" OR (\"total\" = $1::numeric AND \"uf\" = $2::text AND \"id\" > $3::bigint))"
		" ORDER BY \"total\" DESC, \"uf\" ASC, \"id\" ASC LIMIT 101");
	built_free(&p);
	free(c);

	/* NULLs in the cursor: total NULL (first when descending), uf NULL (last ascending) */
	const char *kn[] = {NULL, NULL, "9"};
	c = cursor_for("order=total.desc,uf", &vendas, kn);
	snprintf(qs, sizeof qs, "order=total.desc,uf&after=%s&select=id", c);
	assert_int_equal(build(qs, &vendas, &p, &e), 0);
	assert_string_equal(p.plan.sql,
		"SELECT \"id\", \"total\", \"uf\", \"id\" FROM \"trusted\".\"vendas\" WHERE"
		" ((\"total\" IS NOT NULL)"
		" OR (\"total\" IS NULL AND \"uf\" IS NULL AND \"id\" > $1::bigint))"
		" ORDER BY \"total\" DESC, \"uf\" ASC, \"id\" ASC LIMIT 101");
	assert_int_equal(p.plan.nparams, 1);
	built_free(&p);
	free(c);

	/* ascending nullable and NULL: only equal-prefix rows can follow */
	const char *ka[] = {NULL, "3"};
	c = cursor_for("order=total", &vendas, ka);
	snprintf(qs, sizeof qs, "order=total&after=%s&select=id", c);
	assert_int_equal(build(qs, &vendas, &p, &e), 0);
	assert_string_equal(p.plan.sql,
		"SELECT \"id\", \"total\", \"id\" FROM \"trusted\".\"vendas\" WHERE"
		" ((\"total\" IS NULL AND \"id\" > $1::bigint))"
		" ORDER BY \"total\" ASC, \"id\" ASC LIMIT 101");
	built_free(&p);
	free(c);
}

static void keyless_relation_orders_by_every_sortable_column(void **state)
{
	struct built p;
	struct query_error e;
	assert_int_equal(build("order=valor.desc&limit=10", &resumo, &p, &e), 0);
	assert_string_equal(p.plan.sql,
		"SELECT \"dia\", \"doc\", \"valor\", \"valor\", \"dia\" FROM \"refined\".\"resumo\""
		" ORDER BY \"valor\" DESC, \"dia\" ASC LIMIT 11");
	assert_null(p.plan.probe_sql);
	built_free(&p);
	/* longer than a whole page: the probe finds the next cursor */
	assert_int_equal(build("order=valor.desc&limit=1000", &resumo, &p, &e), 0);
	assert_false(p.plan.whole);
	assert_string_equal(p.plan.sql,
		"SELECT \"dia\", \"doc\", \"valor\" FROM \"refined\".\"resumo\""
		" ORDER BY \"valor\" DESC, \"dia\" ASC LIMIT 1000");
	assert_string_equal(p.plan.probe_sql,
		"SELECT \"valor\", \"dia\" FROM \"refined\".\"resumo\""
		" ORDER BY \"valor\" DESC, \"dia\" ASC LIMIT 2 OFFSET 999");
	assert_int_equal(p.plan.nkeys, 2);
	built_free(&p);

	static struct query_column only_json[] = {{"doc", "json", QUERY_KIND_JSON, false, false, 0}};
	static struct query_table docs = {"refined", "docs", only_json, 1, 0, NULL};
	assert_int_equal(build("limit=5", &docs, &p, &e), -1);
	assert_string_equal(e.field, "limit");
	assert_int_equal(build("limit=all", &docs, &p, &e), 0);
	assert_string_equal(p.plan.sql, "SELECT \"doc\" FROM \"refined\".\"docs\"");
	built_free(&p);
}

/* --- writers ------------------------------------------------------------- */

static void writes_json_and_csv_values(void **state)
{
	struct dynbuf b = {0};
	query_json_value(&b, QUERY_KIND_TEXT, "a\"b\\c\n\x01 ✓", 11);
	dynbuf_addc(&b, ' ');
	query_json_value(&b, QUERY_KIND_NUMBER, "-12.50", 6);
	dynbuf_addc(&b, ' ');
	query_json_value(&b, QUERY_KIND_NUMBER, "NaN", 3);
	dynbuf_addc(&b, ' ');
	query_json_value(&b, QUERY_KIND_NUMBER, "-Infinity", 9);
	dynbuf_addc(&b, ' ');
	query_json_value(&b, QUERY_KIND_BOOL, "t", 1);
	dynbuf_addc(&b, ' ');
	query_json_value(&b, QUERY_KIND_JSON, "{\"a\": [1]}", 10);
	dynbuf_addc(&b, ' ');
	query_json_value(&b, QUERY_KIND_NUMBER, NULL, 0);
	assert_string_equal(dynbuf_cstr(&b),
			    "\"a\\\"b\\\\c\\n\\u0001 ✓\" -12.50 \"NaN\" \"-Infinity\" true {\"a\": [1]} null");
	dynbuf_reset(&b);

	const char *fields[] = {"plain", "a,b", "say \"hi\"", "line\nbreak", "", NULL, " pad", "t"};
	enum query_kind kinds[] = {0, 0, 0, 0, 0, 0, 0, QUERY_KIND_BOOL};
	for (int i = 0; i < 8; i++) {
		if (i)
			dynbuf_addc(&b, ',');
		query_csv_field(&b, kinds[i], fields[i], fields[i] ? strlen(fields[i]) : 0);
	}
	assert_string_equal(dynbuf_cstr(&b),
			    "plain,\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",\"\",,\" pad\",true");
	dynbuf_reset(&b);
	query_url_encode(&b, "in.(SP, RJ)&x=+/é");
	assert_string_equal(dynbuf_cstr(&b), "in.(SP,%20RJ)%26x%3D%2B%2F%C3%A9");
	dynbuf_free(&b);
}

static void formats_whole_rows(void **state)
{
	const char *names[] = {"id", "a\"b", "ativo", "doc"};
	enum query_kind kinds[] = {QUERY_KIND_NUMBER, QUERY_KIND_TEXT, QUERY_KIND_BOOL, QUERY_KIND_JSON};
	const char *r1[] = {"1", "x,y", "t", "{\"k\": 1}"}, *r2[] = {"2", NULL, NULL, NULL};
	size_t l1[] = {1, 3, 1, 8}, l2[] = {1, 0, 0, 0};
	struct query_row_format f;
	struct dynbuf b = {0};
	assert_int_equal(query_row_format_init(&f, QUERY_FORMAT_JSON, 4, names, kinds), 0);
	query_format_row(&b, &f, true, r1, l1);
	query_format_row(&b, &f, false, r2, l2);
	assert_string_equal(dynbuf_cstr(&b),
			    "{\"id\":1,\"a\\\"b\":\"x,y\",\"ativo\":true,\"doc\":{\"k\": 1}}"
			    ",{\"id\":2,\"a\\\"b\":null,\"ativo\":null,\"doc\":null}");
	query_row_format_free(&f);
	dynbuf_reset(&b);
	assert_int_equal(query_row_format_init(&f, QUERY_FORMAT_CSV, 4, names, kinds), 0);
	query_format_csv_header(&b, 4, names);
	query_format_row(&b, &f, true, r1, l1);
	query_format_row(&b, &f, false, r2, l2);
	assert_string_equal(dynbuf_cstr(&b), "id,\"a\"\"b\",ativo,doc\r\n1,\"x,y\",true,\"{\"\"k\"\": 1}\"\r\n2,,,\r\n");
	query_row_format_free(&f);
	dynbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_every_operator),
		cmocka_unit_test(parses_in_lists_with_quotes),
		cmocka_unit_test(parses_select_order_limit_after),
		cmocka_unit_test(refuses_bad_syntax),
		cmocka_unit_test(base64url_round_trips),
		cmocka_unit_test(cursor_round_trips_and_checks),
		cmocka_unit_test(builds_filters_with_bound_casts),
		cmocka_unit_test(builds_aggregates_grouped_by_plain_columns),
		cmocka_unit_test(refuses_what_the_catalog_does_not_allow),
		cmocka_unit_test(keyset_uniform_uses_row_comparison),
		cmocka_unit_test(keyset_mixed_is_null_aware),
		cmocka_unit_test(keyless_relation_orders_by_every_sortable_column),
		cmocka_unit_test(writes_json_and_csv_values),
		cmocka_unit_test(formats_whole_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
