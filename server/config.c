/* Reads the environment into struct config with checked numbers and sane
 * defaults: the embedded default needs only an admin token. */
#include "server/config.h"
#include "lib/secret.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

struct var_doc { const char *name, *def, *what; };

static const struct var_doc vars[] = {
	{"SHOPPERLAKE_HOME", "the source tree", "directory holding sql/, openapi/ and web/"},
	{"SHOPPERLAKE_DATABASE_URL", "the private cluster under $HOME/var/pg", "libpq URL of the lake database"},
	{"SHOPPERLAKE_LISTEN", "127.0.0.1", "address to listen on"},
	{"SHOPPERLAKE_PORT", "8080", "TCP port, 0 for any free port (the log says which)"},
	{"SHOPPERLAKE_MAX_CONNECTIONS", "256", "HTTP connections served at once (one thread each)"},
	{"SHOPPERLAKE_DB_POOL", "16", "lake connections shared by HTTP requests"},
	{"SHOPPERLAKE_WORKERS", "4", "job workers, each with its own lake connection; 0 = API only"},
	{"SHOPPERLAKE_REFINED_CONNECTIONS", "2", "lake connections a job's refined step brings its reports up to date on, side by side (kept open, shared by the workers)"},
	{"SHOPPERLAKE_ADMIN_TOKEN", "(required)", "bearer token that may read and write; or SHOPPERLAKE_ADMIN_TOKEN_FILE"},
	{"SHOPPERLAKE_READER_TOKEN", "(none)", "bearer token that may only read; or SHOPPERLAKE_READER_TOKEN_FILE"},
	{"SHOPPERLAKE_BUCKET_DIR", "$HOME/var/bucket", "where extracted files are kept"},
	{"SHOPPERLAKE_MAX_BODY", "1048576", "largest request body in bytes"},
	{"SHOPPERLAKE_CONNECTION_TIMEOUT", "30", "seconds an idle HTTP connection of an authenticated client is kept"},
	{"SHOPPERLAKE_HEADER_TIMEOUT", "1", "seconds a connection may stay silent before its first request, and after an unauthenticated one"},
	{"SHOPPERLAKE_MAX_CONNECTIONS_PER_IP", "0", "HTTP connections one client address may hold at once; 0 = no limit"},
	{"SHOPPERLAKE_SECRET_PREFIX", SECRET_DEFAULT_PREFIX, "env: secret references must name variables with this prefix (never SHOPPERLAKE_*)"},
	{"SHOPPERLAKE_SECRETS_DIR", SECRET_DEFAULT_DIR, "file: secret references must name files inside this directory"},
	{"SHOPPERLAKE_JOB_MAX_ATTEMPTS", "3", "tries of a job that fails transiently"},
	{"SHOPPERLAKE_HEARTBEAT_SECS", "2", "how often a running job proves it is alive"},
	{"SHOPPERLAKE_STALE_SECS", "20", "a running job silent this long is taken back"},
	{"SHOPPERLAKE_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"SHOPPERLAKE_CORS_ORIGINS", "(none)", "browser origins allowed to call the API (CORS): comma-separated, e.g. https://dash.example, or *"},
	{"SHOPPERLAKE_SCHEDULER", "1", "1 = this server fires schedules (any number of servers may), 0 = not"},
	{"SHOPPERLAKE_MONITOR_INTERVAL", "600", "seconds between the monitoring checks a scheduler runs by itself while no active schedule runs monitoring_checks; 0 = never"},
	{"SHOPPERLAKE_RETENTION_INTERVAL", "3600", "seconds between the retention runs a scheduler does by itself while no active schedule runs retention; 0 = never"},
	{"SHOPPERLAKE_JOB_HISTORY_DAYS", "90", "finished jobs (and their log lines) older than this many days are deleted by retention; 0 = keep all"},
	{"SHOPPERLAKE_ALERTMANAGER_URL", "(none)", "Alertmanager base URL (http://host:9093): alerts are posted to its /api/v2/alerts"},
	{"SHOPPERLAKE_ALERT_WEBHOOK_URL", "(none)", "URL receiving each alert, firing and resolved, as Alertmanager's webhook JSON"},
	{"SHOPPERLAKE_ALERT_RESEND", "60", "seconds between re-sends of a firing alert to Alertmanager (endsAt is 4 periods ahead)"},
	{"SHOPPERLAKE_TEST_CLOCK", "(none)", "TESTS ONLY: a file holding the scheduler's current instant (ISO 8601)"},
};

void config_usage(FILE *out)
{
	fprintf(out, "usage: shopperlake [--help] [--version]\n\n"
		     "shopper-lake data-lake server. Configured by environment variables:\n\n");
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		fprintf(out, "  %-32s %s\n  %-32s default: %s\n", vars[i].name, vars[i].what, "", vars[i].def);
}

static int get_int(config_getenv_fn get, const char *name, int def, int min, int max,
		   int *out, char *err, size_t errlen)
{
	const char *v = get(name);
	if (!v || !*v) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < min || n > max) {
		snprintf(err, errlen, "%s must be an integer from %d to %d", name, min, max);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static char *dup_or(const char *v, const char *def)
{
	return strdup(v && *v ? v : def);
}

/* A token comes literally from NAME or from the file named by NAME_FILE. */
static int get_token(config_getenv_fn get, const char *name, char **out, char *err, size_t errlen)
{
	char file_var[64];
	snprintf(file_var, sizeof file_var, "%s_FILE", name);
	const char *lit = get(name), *file = get(file_var);

	*out = NULL;
	if (lit && *lit)
		*out = strdup(lit);
	else if (file && *file) {
		/* the server's own file, not a source's secret: no secrets-directory rule */
		if (!(*out = util_read_file(file, NULL))) {
			snprintf(err, errlen, "%s cannot be read", file_var);
			return -1;
		}
		(*out)[strcspn(*out, "\r\n")] = 0;
	}
	if (*out && strlen(*out) < 16) {
		snprintf(err, errlen, "%s must be at least 16 characters", name);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* An http(s) URL, or nothing. */
static int get_url(config_getenv_fn get, const char *name, char **out, char *err, size_t errlen)
{
	const char *v = get(name);
	*out = NULL;
	if (!v || !*v)
		return 0;
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
		snprintf(err, errlen, "%s must be an http:// or https:// URL", name);
		return -1;
	}
	if (!(*out = strdup(v))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int config_load(struct config *cfg, config_getenv_fn get, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	int max_body_bytes;

	cfg->home = dup_or(get("SHOPPERLAKE_HOME"), SHOPPERLAKE_DEFAULT_HOME);
	const char *url = get("SHOPPERLAKE_DATABASE_URL");
	if (url && *url) {
		cfg->database_url = strdup(url);
	} else {
		char port[32] = "5433";
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/var/pg/port", cfg->home);
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(port, sizeof port, f))
				strcpy(port, "5433");
			port[strcspn(port, "\r\n")] = 0;
			fclose(f);
		}
		if (asprintf(&cfg->database_url, "postgresql:///lake?host=%s/var/pg/run&port=%s&user=lake",
			     cfg->home, port) < 0)
			cfg->database_url = NULL;
	}
	cfg->listen_addr = dup_or(get("SHOPPERLAKE_LISTEN"), "127.0.0.1");
	cfg->log_level = dup_or(get("SHOPPERLAKE_LOG_LEVEL"), "info");
	cfg->cors_origins = dup_or(get("SHOPPERLAKE_CORS_ORIGINS"), "");
	const char *bucket = get("SHOPPERLAKE_BUCKET_DIR");
	if (bucket && *bucket)
		cfg->bucket_dir = strdup(bucket);
	else if (asprintf(&cfg->bucket_dir, "%s/var/bucket", cfg->home) < 0)
		cfg->bucket_dir = NULL;

	if (get_int(get, "SHOPPERLAKE_PORT", 8080, 0, 65535, &cfg->port, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_MAX_CONNECTIONS", 256, 1, 10000, &cfg->max_connections, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_DB_POOL", 16, 1, 500, &cfg->db_pool, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_WORKERS", 4, 0, 256, &cfg->workers, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_REFINED_CONNECTIONS", 2, 1, 64, &cfg->refined_connections, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_CONNECTION_TIMEOUT", 30, 1, 3600, &cfg->connection_timeout, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_HEADER_TIMEOUT", 1, 1, 3600, &cfg->header_timeout, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_MAX_CONNECTIONS_PER_IP", 0, 0, 10000, &cfg->max_per_ip, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_JOB_MAX_ATTEMPTS", 3, 1, 100, &cfg->job_max_attempts, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_HEARTBEAT_SECS", 2, 1, 3600, &cfg->heartbeat_secs, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_STALE_SECS", 20, 2, 86400, &cfg->stale_secs, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_SCHEDULER", 1, 0, 1, &cfg->scheduler, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_MONITOR_INTERVAL", 600, 0, 86400, &cfg->monitor_interval, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_ALERT_RESEND", 60, 1, 86400, &cfg->alert_resend, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_RETENTION_INTERVAL", 3600, 0, 604800, &cfg->retention_interval, err, errlen) ||
	    get_int(get, "SHOPPERLAKE_JOB_HISTORY_DAYS", 90, 0, 36500, &cfg->job_history_days, err, errlen) ||
	    get_url(get, "SHOPPERLAKE_ALERTMANAGER_URL", &cfg->alertmanager_url, err, errlen) ||
	    get_url(get, "SHOPPERLAKE_ALERT_WEBHOOK_URL", &cfg->alert_webhook_url, err, errlen))
		goto failed;
	const char *test_clock = get("SHOPPERLAKE_TEST_CLOCK");
	if (test_clock && *test_clock && !(cfg->test_clock = strdup(test_clock))) {
		snprintf(err, errlen, "out of memory");
		goto failed;
	}
	if (get_int(get, "SHOPPERLAKE_MAX_BODY", 1048576, 1024, 64 * 1024 * 1024, &max_body_bytes, err, errlen))
		goto failed;
	cfg->max_body = (size_t)max_body_bytes;
	cfg->secret_prefix = dup_or(get("SHOPPERLAKE_SECRET_PREFIX"), SECRET_DEFAULT_PREFIX);
	cfg->secrets_dir = dup_or(get("SHOPPERLAKE_SECRETS_DIR"), SECRET_DEFAULT_DIR);
	if (cfg->secret_prefix && cfg->secrets_dir) {
		const char *why = secret_policy_problem(cfg->secret_prefix, cfg->secrets_dir);
		if (why) {
			snprintf(err, errlen, "%s", why);
			goto failed;
		}
	}
	if (cfg->stale_secs <= cfg->heartbeat_secs) {
		snprintf(err, errlen, "SHOPPERLAKE_STALE_SECS must be greater than SHOPPERLAKE_HEARTBEAT_SECS");
		goto failed;
	}
	if (strcmp(cfg->log_level, "debug") && strcmp(cfg->log_level, "info") &&
	    strcmp(cfg->log_level, "warn") && strcmp(cfg->log_level, "error")) {
		snprintf(err, errlen, "SHOPPERLAKE_LOG_LEVEL must be debug, info, warn or error");
		goto failed;
	}
	if (get_token(get, "SHOPPERLAKE_ADMIN_TOKEN", &cfg->admin_token, err, errlen) ||
	    get_token(get, "SHOPPERLAKE_READER_TOKEN", &cfg->reader_token, err, errlen))
		goto failed;
	if (!cfg->admin_token) {
		snprintf(err, errlen, "SHOPPERLAKE_ADMIN_TOKEN (or SHOPPERLAKE_ADMIN_TOKEN_FILE) is required");
		goto failed;
	}
	if (cfg->reader_token && strcmp(cfg->reader_token, cfg->admin_token) == 0) {
		snprintf(err, errlen, "SHOPPERLAKE_READER_TOKEN must differ from the admin token");
		goto failed;
	}
	if (!cfg->home || !cfg->database_url || !cfg->listen_addr || !cfg->bucket_dir || !cfg->log_level ||
	    !cfg->secret_prefix || !cfg->secrets_dir) {
		snprintf(err, errlen, "out of memory");
		goto failed;
	}
	return 0;
failed:
	config_free(cfg);
	return -1;
}

void config_free(struct config *cfg)
{
	free(cfg->home);
	free(cfg->database_url);
	free(cfg->listen_addr);
	free(cfg->log_level);
	free(cfg->cors_origins);
	free(cfg->bucket_dir);
	free(cfg->secret_prefix);
	free(cfg->secrets_dir);
	free(cfg->admin_token);
	free(cfg->reader_token);
	free(cfg->test_clock);
	free(cfg->alertmanager_url);
	free(cfg->alert_webhook_url);
	memset(cfg, 0, sizeof *cfg);
}
