/* Configuration from environment variables; `shopperlake --help` lists them. */
#ifndef LAKE_CONFIG_H
#define LAKE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct config {
	char *home;            /* where sql/, openapi/ and web/ are */
	char *database_url;    /* the lake; never logged as is */
	char *listen_addr;     /* IPv4 or IPv6 literal */
	int port;              /* 0 = any free port (logged at start) */
	int max_connections;   /* HTTP connections at once (a thread each) */
	int db_pool;           /* lake connections for HTTP handlers */
	int workers;           /* job worker pool size, 0 = serve only */
	int refined_connections; /* lake connections of the refined steps, shared by the workers */
	char *admin_token;
	char *reader_token;    /* NULL = no read-only token */
	char *bucket_dir;
	char *secret_prefix;   /* env: references must start with it */
	char *secrets_dir;     /* file: references must lie inside it */
	size_t max_body;       /* bytes */
	int connection_timeout;/* seconds an authenticated client may stay idle */
	int header_timeout;    /* seconds a connection may stay silent before its first complete request */
	int max_per_ip;        /* HTTP connections one address may hold, 0 = no limit */
	int job_max_attempts;
	int heartbeat_secs;
	int stale_secs;        /* a RUNNING job whose heartbeat is older is requeued */
	char *log_level;
	char *cors_origins;    /* origins browsers may call from: "" none, "*" any, else "a,b" exact */
	int scheduler;         /* 1: fire schedules (scheduler/) */
	int retention_interval;/* seconds between the server's own retention runs (no schedule); 0 = never */
	int job_history_days;  /* finished jobs older than this are deleted by retention; 0 = kept */
	int monitor_interval;  /* seconds between the server's own monitoring checks (no schedule); 0 = never */
	char *alertmanager_url;/* Alertmanager to deliver alerts to (its /api/v2/alerts); NULL = none */
	char *alert_webhook_url; /* a webhook receiving Alertmanager's webhook JSON; NULL = none */
	int alert_resend;      /* seconds between re-sends of a firing alert to Alertmanager */
	char *test_clock;      /* tests only: file with the scheduler's instant; NULL = real time */
};

/* Returns the value of an environment variable or NULL; tests pass their own. */
typedef const char *(*config_getenv_fn)(const char *name);

/* Fills `cfg` from the environment. Returns 0, or -1 with a message in err
 * naming the variable. The strings in cfg are owned by it: config_free. */
int config_load(struct config *cfg, config_getenv_fn get, char *err, size_t errlen);
void config_free(struct config *cfg);
void config_usage(FILE *out);

#endif
