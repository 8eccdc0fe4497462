/* The filter of keys seen (lib/key_filter.h): every key added before answers
 * "maybe", and among keys never added the "maybe"s stay as rare as its
 * comment says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/key_filter.h"

static size_t key(char *buf, size_t len, const char *prefix, long n)
{
	return (size_t)snprintf(buf, len, "%s%07ld\t", prefix, n);
}

/* 1 000 000 keys once, then again: never a "no" for one seen */
static void test_seen_keys_always_maybe(void **state)
{
	(void)state;
	struct key_filter *f = key_filter_new();
	assert_non_null(f);
	char buf[32];
	long first_maybe = 0;
	for (long n = 0; n < 1000000; n++)
		first_maybe += key_filter_add(f, buf, key(buf, sizeof buf, "p_", n));
	for (long n = 0; n < 1000000; n++)
		if (!key_filter_add(f, buf, key(buf, sizeof buf, "p_", n)))
			fail_msg("key %ld was added and answers no", n);
	/* new keys while 1 000 000 were in: about 1 in 200 says maybe */
	assert_true(first_maybe < 1000000 / 100);
	long maybe = 0;
	for (long n = 0; n < 100000; n++)
		maybe += key_filter_add(f, buf, key(buf, sizeof buf, "q_", n));
	printf("# maybe among 100000 new keys after 1000000: %ld\n", maybe);
	assert_true(maybe < 100000 / 100);
	key_filter_free(f);
}

/* 200 000 keys, the size of the API bench: almost no false "maybe" */
static void test_few_false_maybes(void **state)
{
	(void)state;
	struct key_filter *f = key_filter_new();
	char buf[32];
	long maybe = 0;
	for (long n = 0; n < 200000; n++)
		maybe += key_filter_add(f, buf, key(buf, sizeof buf, "p_", n));
	assert_true(maybe < 50);
	key_filter_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seen_keys_always_maybe),
		cmocka_unit_test(test_few_false_maybes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
