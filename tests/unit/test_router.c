/* Route matching: placeholders, 404 versus 405 with Allow, oversized segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "server/router.h"

static void h(struct http_request *req) { (void)req; }

static const struct route table[] = {
	{"GET", "/v1/sources", ROLE_READER, h},
	{"POST", "/v1/sources", ROLE_ADMIN, h},
	{"GET", "/v1/sources/{id}", ROLE_READER, h},
	{"DELETE", "/v1/sources/{id}", ROLE_ADMIN, h},
	{"GET", "/v1/tables/{layer}/{table}", ROLE_READER, h},
	{"GET", "/ui/*", ROLE_PUBLIC, h},
};

static enum route_result match(const char *m, const char *p, const struct route **r,
			       struct route_params *params, char *allow)
{
	return router_match(table, sizeof table / sizeof table[0], m, p, r, params, allow, 64);
}

static void finds_literal_and_placeholder(void **state)
{
	const struct route *r;
	struct route_params p;
	char allow[64];
	assert_int_equal(match("GET", "/v1/sources", &r, &p, allow), ROUTE_FOUND);
	assert_ptr_equal(r, &table[0]);
	assert_int_equal(match("DELETE", "/v1/sources/42", &r, &p, allow), ROUTE_FOUND);
	assert_ptr_equal(r, &table[3]);
	assert_string_equal(route_param(&p, "id"), "42");
	assert_int_equal(match("GET", "/v1/tables/trusted/vendas", &r, &p, allow), ROUTE_FOUND);
	/* HEAD finds the GET route */
	assert_int_equal(match("HEAD", "/v1/tables/trusted/vendas", &r, &p, allow), ROUTE_FOUND);
	assert_string_equal(r->method, "GET");
	assert_string_equal(route_param(&p, "layer"), "trusted");
	assert_string_equal(route_param(&p, "table"), "vendas");
	assert_null(route_param(&p, "nope"));
}

static void prefix_pattern_takes_the_rest(void **state)
{
	const struct route *r;
	struct route_params p;
	char allow[64];
	const char *cases[][2] = {{"/ui", ""}, {"/ui/", ""}, {"/ui/app.js", "app.js"},
				  {"/ui/js/pages/a.js", "js/pages/a.js"}, {"/ui//x", "/x"}, {"/ui/../etc", "../etc"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(match("GET", cases[i][0], &r, &p, allow), ROUTE_FOUND);
		assert_ptr_equal(r, &table[5]);
		assert_string_equal(route_param(&p, "*"), cases[i][1]);
	}
	assert_int_equal(match("GET", "/uix", &r, &p, allow), ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/u", &r, &p, allow), ROUTE_NOT_FOUND);
	assert_int_equal(match("POST", "/ui/app.js", &r, &p, allow), ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(allow, "GET, HEAD");
	char long_path[600] = "/ui/";
	memset(long_path + 4, 'a', 400);
	long_path[404] = 0;
	assert_int_equal(match("GET", long_path, &r, &p, allow), ROUTE_NOT_FOUND);
}

static void unknown_path_is_not_found(void **state)
{
	const struct route *r;
	struct route_params p;
	char allow[64];
	assert_int_equal(match("GET", "/v1/source", &r, &p, allow), ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/v1/sources/1/extra", &r, &p, allow), ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/v1/sources/", &r, &p, allow), ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "", &r, &p, allow), ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/v1//sources", &r, &p, allow), ROUTE_NOT_FOUND);
	assert_null(r);
}

static void wrong_method_lists_allowed(void **state)
{
	const struct route *r;
	struct route_params p;
	char allow[64];
	assert_int_equal(match("PUT", "/v1/sources", &r, &p, allow), ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(allow, "GET, HEAD, POST");
	assert_int_equal(match("PATCH", "/v1/sources/7", &r, &p, allow), ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(allow, "GET, HEAD, DELETE");
}

static void oversized_segment_matches_nothing(void **state)
{
	const struct route *r;
	struct route_params p;
	char allow[64], path[600] = "/v1/sources/";
	memset(path + strlen(path), '9', 400);
	path[12 + 400] = 0;
	assert_int_equal(match("GET", path, &r, &p, allow), ROUTE_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finds_literal_and_placeholder),
		cmocka_unit_test(prefix_pattern_takes_the_rest),
		cmocka_unit_test(unknown_path_is_not_found),
		cmocka_unit_test(wrong_method_lists_allowed),
		cmocka_unit_test(oversized_segment_matches_nothing),
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
