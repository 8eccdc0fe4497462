/* Configuration: defaults, range checks, token rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static const char *const *env_now;

static const char *fake_get(const char *name)
{
	for (const char *const *e = env_now; *e; e += 2)
		if (strcmp(e[0], name) == 0)
			return e[1];
	return NULL;
}

static int load(const char *const *env, struct config *cfg, char *err)
{
	env_now = env;
	return config_load(cfg, fake_get, err, 256);
}

static void defaults_need_only_admin_token(void **state)
{
	const char *env[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", NULL};
	struct config cfg;
	char err[256];
	assert_int_equal(load(env, &cfg, err), 0);
	assert_int_equal(cfg.port, 8080);
	assert_string_equal(cfg.listen_addr, "127.0.0.1");
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.max_body, 1048576);
	assert_null(cfg.reader_token);
	assert_non_null(strstr(cfg.database_url, "/var/pg/run"));
	assert_int_equal(cfg.scheduler, 1);
	assert_null(cfg.test_clock);
	config_free(&cfg);
}

static void scheduler_settings(void **state)
{
	const char *env1[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", "SHOPPERLAKE_SCHEDULER", "0",
			      "SHOPPERLAKE_TEST_CLOCK", "/tmp/clock", NULL};
	const char *env2[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", "SHOPPERLAKE_SCHEDULER", "2", NULL};
	struct config cfg;
	char err[256];
	assert_int_equal(load(env1, &cfg, err), 0);
	assert_int_equal(cfg.scheduler, 0);
	assert_string_equal(cfg.test_clock, "/tmp/clock");
	config_free(&cfg);
	assert_int_equal(load(env2, &cfg, err), -1);
	assert_non_null(strstr(err, "SHOPPERLAKE_SCHEDULER"));
}

static void monitoring_settings(void **state)
{
	const char *env0[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", NULL};
	const char *env1[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", "SHOPPERLAKE_MONITOR_INTERVAL", "0",
			      "SHOPPERLAKE_ALERTMANAGER_URL", "http://127.0.0.1:9093", "SHOPPERLAKE_ALERT_WEBHOOK_URL",
			      "https://hooks.example/lake", "SHOPPERLAKE_ALERT_RESEND", "30", NULL};
	const char *env2[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", "SHOPPERLAKE_ALERTMANAGER_URL",
			      "file:///etc/passwd", NULL};
	const char *env3[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", "SHOPPERLAKE_ALERT_RESEND", "0", NULL};
	struct config cfg;
	char err[256];
	assert_int_equal(load(env0, &cfg, err), 0);
	assert_int_equal(cfg.monitor_interval, 600);
	assert_int_equal(cfg.alert_resend, 60);
	assert_int_equal(cfg.retention_interval, 3600);
	assert_int_equal(cfg.job_history_days, 90);
	assert_null(cfg.alertmanager_url);
	assert_null(cfg.alert_webhook_url);
	config_free(&cfg);
	assert_int_equal(load(env1, &cfg, err), 0);
	assert_int_equal(cfg.monitor_interval, 0);
	assert_int_equal(cfg.alert_resend, 30);
	assert_string_equal(cfg.alertmanager_url, "http://127.0.0.1:9093");
	assert_string_equal(cfg.alert_webhook_url, "https://hooks.example/lake");
	config_free(&cfg);
	assert_int_equal(load(env2, &cfg, err), -1);
	assert_non_null(strstr(err, "SHOPPERLAKE_ALERTMANAGER_URL"));
	assert_int_equal(load(env3, &cfg, err), -1);
	assert_non_null(strstr(err, "SHOPPERLAKE_ALERT_RESEND"));
}

static void missing_admin_token_is_refused(void **state)
{
	const char *env[] = {NULL};
	struct config cfg;
	char err[256];
	assert_int_equal(load(env, &cfg, err), -1);
	assert_non_null(strstr(err, "SHOPPERLAKE_ADMIN_TOKEN"));
}

static void bad_numbers_name_the_variable(void **state)
{
	const char *env1[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", "SHOPPERLAKE_PORT", "80x", NULL};
	const char *env2[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", "SHOPPERLAKE_WORKERS", "-1", NULL};
	const char *env3[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", "SHOPPERLAKE_MAX_BODY", "99999999999999999999", NULL};
	struct config cfg;
	char err[256];
	assert_int_equal(load(env1, &cfg, err), -1);
	assert_non_null(strstr(err, "SHOPPERLAKE_PORT"));
	assert_int_equal(load(env2, &cfg, err), -1);
	assert_non_null(strstr(err, "SHOPPERLAKE_WORKERS"));
	assert_int_equal(load(env3, &cfg, err), -1);
	assert_non_null(strstr(err, "SHOPPERLAKE_MAX_BODY"));
}

static void weak_or_shared_tokens_are_refused(void **state)
{
	const char *shortt[] = {"SHOPPERLAKE_ADMIN_TOKEN", "short", NULL};
	const char *same[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123",
			      "SHOPPERLAKE_READER_TOKEN", "0123456789abcdef0123", NULL};
	struct config cfg;
	char err[256];
	assert_int_equal(load(shortt, &cfg, err), -1);
	assert_non_null(strstr(err, "at least 16"));
	assert_int_equal(load(same, &cfg, err), -1);
	assert_non_null(strstr(err, "READER"));
}

/* The secret-reference rule's settings: a prefix that would reach the
 * server's own variables, or a directory of system files, is refused. */
static void secret_policy_settings_are_checked(void **state)
{
	struct config cfg;
	char err[256];
	const char *ok[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", NULL};
	assert_int_equal(load(ok, &cfg, err), 0);
	assert_string_equal(cfg.secret_prefix, "LAKE_SECRET_");
	assert_string_equal(cfg.secrets_dir, "/run/secrets");
	assert_int_equal(cfg.header_timeout, 1);
	assert_int_equal(cfg.max_per_ip, 0);
	config_free(&cfg);
	const char *bad[][2] = {{"SHOPPERLAKE_SECRET_PREFIX", "SHOPPERLAKE_"}, {"SHOPPERLAKE_SECRET_PREFIX", "shopperlake_x"},
				{"SHOPPERLAKE_SECRET_PREFIX", "A-B"}, {"SHOPPERLAKE_SECRETS_DIR", "/"},
				{"SHOPPERLAKE_SECRETS_DIR", "/proc/self"}, {"SHOPPERLAKE_SECRETS_DIR", "/etc"},
				{"SHOPPERLAKE_SECRETS_DIR", "relative/dir"}, {"SHOPPERLAKE_SECRETS_DIR", "/run/../etc"}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *env[] = {"SHOPPERLAKE_ADMIN_TOKEN", "0123456789abcdef0123", bad[i][0], bad[i][1], NULL};
		assert_int_equal(load(env, &cfg, err), -1);
		if (!strstr(err, bad[i][0]))
			fail_msg("'%s' for %s: error '%s' does not name it", bad[i][1], bad[i][0], err);
	}
}

static void token_from_file(void **state)
{
	char path[] = "/tmp/lake-token-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "fedcba9876543210fedcba\n", 23), 23);
	close(fd);
	const char *env[] = {"SHOPPERLAKE_ADMIN_TOKEN_FILE", path, NULL};
	struct config cfg;
	char err[256];
	assert_int_equal(load(env, &cfg, err), 0);
	assert_string_equal(cfg.admin_token, "fedcba9876543210fedcba");
	config_free(&cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_need_only_admin_token),
		cmocka_unit_test(missing_admin_token_is_refused),
		cmocka_unit_test(scheduler_settings),
		cmocka_unit_test(monitoring_settings),
		cmocka_unit_test(bad_numbers_name_the_variable),
		cmocka_unit_test(weak_or_shared_tokens_are_refused),
		cmocka_unit_test(token_from_file),
		cmocka_unit_test(secret_policy_settings_are_checked),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
