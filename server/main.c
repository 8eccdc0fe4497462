/* shopperlake: configure, migrate, serve, and stop cleanly on SIGTERM/SIGINT.
 *
 * Start-up order matters: signals are blocked before any thread exists so
 * only the main thread's sigwait() sees them; migrations run before the
 * listener opens so /readyz never answers for a half-migrated lake. */
#include "jobs/pool.h"
#include "monitor/deliver.h"
#include "monitor/joblogs.h"
#include "scheduler/loop.h"
#include "server/app.h"
#include "server/http.h"
#include "lib/log.h"
#include "server/migrate.h"
#include "server/routes.h"
#include "lib/secret.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *env_get(const char *name) { return getenv(name); }

static enum log_level level_from(const char *s)
{
	return !strcmp(s, "debug") ? LOG_DEBUG : !strcmp(s, "warn") ? LOG_WARN
	     : !strcmp(s, "error") ? LOG_ERROR : LOG_INFO;
}

/* The lake may still be starting (a fresh cluster, a failover): try for 30 s. */
static PGconn *connect_lake(const char *url, const sigset_t *stop)
{
	char err[512] = "";
	for (int i = 0; i < 30; i++) {
		PGconn *c = db_connect(url, "shopperlake-start", err, sizeof err);
		if (c)
			return c;
		if (i == 0)
			log_json(LOG_WARN, "lake not reachable yet, retrying", json_pack("{s:s}", "error", err));
		/* wait a second, but a SIGTERM now ends the wait and the start */
		struct timespec one = {1, 0};
		if (sigtimedwait(stop, NULL, &one) > 0) {
			log_info("stopping before the lake was reached");
			return NULL;
		}
	}
	log_json(LOG_ERROR, "cannot connect to the lake", json_pack("{s:s}", "error", err));
	return NULL;
}

static int prepare(struct app *app, const sigset_t *stop)
{
	char err[512], path[PATH_MAX];

	PGconn *c = connect_lake(app->cfg.database_url, stop);
	if (!c)
		return -1;
	snprintf(path, sizeof path, "%s/sql", app->cfg.home);
	app->migrations_expected = migrate_run(c, path, err, sizeof err);
	PQfinish(c);
	if (app->migrations_expected < 0) {
		log_json(LOG_ERROR, "migrations failed", json_pack("{s:s}", "error", err));
		return -1;
	}
	snprintf(path, sizeof path, "%s/openapi/openapi.json", app->cfg.home);
	app->openapi_json = util_read_file(path, &app->openapi_len);
	if (!app->openapi_json) {
		log_json(LOG_ERROR, "cannot read the OpenAPI spec", json_pack("{s:s}", "path", path));
		return -1;
	}
	if (util_make_dirs(app->cfg.bucket_dir) != 0) {
		log_json(LOG_ERROR, "cannot create the bucket directory",
			 json_pack("{s:s, s:s}", "path", app->cfg.bucket_dir, "error", strerror(errno)));
		return -1;
	}
	app->db = db_pool_open(app->cfg.database_url, app->cfg.db_pool, "shopperlake-api");
	return app->db ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct app app = {0};
	struct joblog_writer *joblogs = NULL;
	char err[512];
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			config_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("shopperlake %s\n", SHOPPERLAKE_VERSION);
			return 0;
		}
		fprintf(stderr, "shopperlake: unknown argument %s (try --help)\n", argv[i]);
		return 2;
	}
	if (config_load(&app.cfg, env_get, err, sizeof err) != 0) {
		log_json(LOG_ERROR, "bad configuration", json_pack("{s:s}", "error", err));
		return 2;
	}
	log_set_level(level_from(app.cfg.log_level));
	if (secret_policy_set(app.cfg.secret_prefix, app.cfg.secrets_dir, err, sizeof err) != 0) {
		log_json(LOG_ERROR, "bad configuration", json_pack("{s:s}", "error", err));
		config_free(&app.cfg);
		return 2;
	}

	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread exists */
	if (prepare(&app, &stop_signals) != 0)
		goto out;
	joblogs = joblog_writer_start(&app, err, sizeof err);
	if (!joblogs) {
		log_json(LOG_ERROR, "cannot start the job log writer", json_pack("{s:s}", "error", err));
		goto out;
	}
	struct http_server *srv = http_start(&app, lake_routes, lake_routes_count, err, sizeof err);
	if (!srv) {
		log_json(LOG_ERROR, "cannot start the HTTP listener", json_pack("{s:s}", "error", err));
		goto out;
	}
	if (app.cfg.workers > 0 && !(app.jobs = job_pool_start(&app, err, sizeof err))) {
		log_json(LOG_ERROR, "cannot start the workers", json_pack("{s:s}", "error", err));
		http_stop(srv, 0);
		goto out;
	}
	if (app.cfg.scheduler && !(app.sched = scheduler_start(&app, err, sizeof err))) {
		log_json(LOG_ERROR, "cannot start the scheduler", json_pack("{s:s}", "error", err));
		http_stop(srv, 0);
		job_pool_stop(app.jobs);
		goto out;
	}
	struct alert_delivery *delivery = alert_delivery_start(&app, err, sizeof err);
	if (!delivery && err[0]) {
		log_json(LOG_ERROR, "cannot start the alert delivery", json_pack("{s:s}", "error", err));
		scheduler_stop(app.sched);
		http_stop(srv, 0);
		job_pool_stop(app.jobs);
		goto out;
	}
	log_json(LOG_INFO, "listening",
		 json_pack("{s:s, s:i, s:i, s:s}", "address", app.cfg.listen_addr, "port", http_port(srv),
			   "workers", app.cfg.workers, "version", SHOPPERLAKE_VERSION));

	int sig = 0;
	sigwait(&stop_signals, &sig);
	log_json(LOG_INFO, "stopping", json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
	scheduler_stop(app.sched);
	alert_delivery_stop(delivery);
	http_stop(srv, 30);
	job_pool_stop(app.jobs);
	joblog_writer_stop(joblogs);
	joblogs = NULL;
	rc = 0;
	log_info("stopped");
out:
	joblog_writer_stop(joblogs);
	db_pool_close(app.db);
	free(app.openapi_json);
	config_free(&app.cfg);
	curl_global_cleanup();
	return rc;
}
