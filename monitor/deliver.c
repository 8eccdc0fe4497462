/* The delivery thread (see deliver.h). Every second it looks for alerts a
 * receiver has not got yet and posts them:
 *
 * - Alertmanager (SHOPPERLAKE_ALERTMANAGER_URL + /api/v2/alerts): a firing
 *   alert is posted when it fires and again every SHOPPERLAKE_ALERT_RESEND
 *   seconds while it fires, with endsAt four periods ahead (as Prometheus
 *   does: an Alertmanager that stops hearing from the lake resolves it by
 *   itself); a resolved alert is posted once more with endsAt = its
 *   resolution. Alertmanager deduplicates by labels, so a re-send is the
 *   same alert, never a new notification.
 * - The webhook (SHOPPERLAKE_ALERT_WEBHOOK_URL): one post per alert per
 *   state (firing, then resolved), in Alertmanager's webhook format.
 *
 * A failed post (no answer within 5 s, or not 2xx) is retried after
 * 2^n seconds (at most 5 minutes); the error is kept on the alert. The
 * alerts being posted are locked (FOR UPDATE SKIP LOCKED) until the outcome
 * is written, so several servers never post the same alert twice at once.
 * Neither URL nor a receiver's answer is ever logged (a URL may carry
 * credentials). */
#include "monitor/deliver.h"
#include "control/store.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 1000
#define POST_TIMEOUT_MS 5000L

struct alert_delivery {
	struct app *app;
	pthread_t thread;
	atomic_bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	char am_url[2048];
};

/* Alerts Alertmanager has not got in their current state, or due for a
 * re-send; $1 = the resend period in seconds. */
static const char sql_am_due[] =
	"SELECT json_build_object('id', a.id, 'state', a.state, 'alert', json_build_object("
	"  'labels', a.labels, 'annotations', json_build_object('summary', a.summary), "
	"  'startsAt', a.started_at, "
	"  'endsAt', CASE WHEN a.state = 'resolved' THEN greatest(a.resolved_at, a.started_at) "
	"                 ELSE greatest(now(), a.started_at) + 4 * $1::integer * interval '1 second' END)) "
	"FROM control.alerts a WHERE (a.state = 'firing' OR a.am_sent_state = 'firing') "
	"  AND (a.am_next_at IS NULL OR a.am_next_at <= now()) "
	"  AND ((a.state = 'firing' AND (a.am_sent_at IS NULL OR a.am_sent_state IS DISTINCT FROM 'firing' "
	"        OR a.am_sent_at <= now() - $1::integer * interval '1 second')) "
	"       OR (a.state = 'resolved' AND a.am_sent_state = 'firing')) "
	"ORDER BY a.id LIMIT 100 FOR UPDATE SKIP LOCKED";
static const char sql_am_sent[] =
	"UPDATE control.alerts SET am_sent_at = now(), am_sent_state = state, am_attempts = 0, "
	"  am_next_at = NULL, am_error = NULL WHERE id = ANY ($1::bigint[])";
static const char sql_am_failed[] =
	"UPDATE control.alerts SET am_attempts = am_attempts + 1, am_error = $2, "
	"  am_next_at = now() + least(power(2, am_attempts + 1), 300) * interval '1 second' "
	"WHERE id = ANY ($1::bigint[])";

/* Alerts the webhook has not got in their current state. */
static const char sql_hook_due[] =
	"SELECT json_build_object('id', a.id, 'state', a.state, 'body', json_build_object("
	"  'version', '4', 'groupKey', a.dedup_key, 'truncatedAlerts', 0, 'status', a.state, "
	"  'receiver', 'shopperlake', 'groupLabels', json_build_object('alertname', a.alertname), "
	"  'commonLabels', a.labels, 'commonAnnotations', json_build_object('summary', a.summary), "
	"  'externalURL', '', 'alerts', json_build_array(json_build_object("
	"    'status', a.state, 'labels', a.labels, 'annotations', json_build_object('summary', a.summary), "
	"    'startsAt', a.started_at, "
	"    'endsAt', CASE WHEN a.state = 'resolved' THEN to_json(greatest(a.resolved_at, a.started_at)) #>> '{}' "
	"                   ELSE '0001-01-01T00:00:00Z' END, "
	"    'generatorURL', '', 'fingerprint', left(md5(a.labels::text), 16))))) "
	"FROM control.alerts a WHERE (a.state = 'firing' OR a.hook_sent_state = 'firing') "
	"  AND (a.hook_next_at IS NULL OR a.hook_next_at <= now()) "
	"  AND ((a.state = 'firing' AND a.hook_sent_state IS NULL) "
	"       OR (a.state = 'resolved' AND a.hook_sent_state = 'firing')) "
	"ORDER BY a.id LIMIT 100 FOR UPDATE SKIP LOCKED";
static const char sql_hook_sent[] =
	"UPDATE control.alerts SET hook_sent_state = state, hook_attempts = 0, hook_next_at = NULL, "
	"  hook_error = NULL WHERE id = ANY ($1::bigint[])";
static const char sql_hook_failed[] =
	"UPDATE control.alerts SET hook_attempts = hook_attempts + 1, hook_error = $2, "
	"  hook_next_at = now() + least(power(2, hook_attempts + 1), 300) * interval '1 second' "
	"WHERE id = ANY ($1::bigint[])";

static size_t discard(char *ptr, size_t size, size_t n, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * n;
}

/* Posts `body` as JSON; 0 on a 2xx answer, else -1 with why (no URL in it). */
static int post_json(const char *url, const char *body, char *why, size_t whylen)
{
	CURL *curl = curl_easy_init();
	if (!curl) {
		snprintf(why, whylen, "cannot start a transfer");
		return -1;
	}
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, POST_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, POST_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (status < 200 || status > 299) {
		snprintf(why, whylen, "answered HTTP %ld", status);
		return -1;
	}
	return 0;
}

/* The ids of `rows` as a bigint[] literal; malloc'd. */
static char *id_array(json_t *rows)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	fputc('{', f);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
		fprintf(f, "%s%lld", i ? "," : "", (long long)json_integer_value(json_object_get(r, "id")));
	fputc('}', f);
	fclose(f);
	return out;
}

static int mark(PGconn *c, const char *sql, json_t *rows, const char *why)
{
	char *ids = id_array(rows);
	const char *p[2] = {ids, why};
	struct store_error e;
	enum store_result r = ids ? store_command(c, sql, why ? 2 : 1, p, &e) : STORE_ERROR;
	free(ids);
	if (r == STORE_ERROR && ids)
		PQclear(e.res);
	return r == STORE_ERROR ? -1 : 0;
}

/* One round for one receiver: lock what is due, post, record the outcome.
 * Alertmanager takes the whole batch in one post; the webhook one post per
 * alert. */
static void round_for(struct alert_delivery *d, PGconn *c, bool am)
{
	char err[256], why[256] = "out of memory", resend[16];
	struct store_error e;
	json_t *rows = NULL;
	snprintf(resend, sizeof resend, "%d", d->app->cfg.alert_resend);
	const char *p[1] = {resend};
	if (db_exec(c, "BEGIN", err, sizeof err) != 0)
		return;
	enum store_result r = store_json_rows(c, am ? sql_am_due : sql_hook_due, am ? 1 : 0, p, &rows, &e);
	if (r != STORE_OK) {
		log_json(LOG_WARN, "alert delivery: cannot read the alerts",
			 json_pack("{s:s}", "error", e.res ? PQresultErrorMessage(e.res) : PQerrorMessage(c)));
		PQclear(e.res);
		goto out;
	}
	if (json_array_size(rows) == 0)
		goto out;
	if (am) {
		json_t *batch = json_array();
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row)
			json_array_append(batch, json_object_get(row, "alert"));
		char *body = json_dumps(batch, JSON_COMPACT);
		json_decref(batch);
		int rc = body ? post_json(d->am_url, body, why, sizeof why) : -1;
		free(body);
		if (rc != 0)
			log_json(LOG_WARN, "alert delivery to Alertmanager failed; will retry",
				 json_pack("{s:s, s:i}", "error", why, "alerts", (int)json_array_size(rows)));
		if (mark(c, rc == 0 ? sql_am_sent : sql_am_failed, rows, rc == 0 ? NULL : why) != 0)
			goto out;
	} else {
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row) {
			char *body = json_dumps(json_object_get(row, "body"), JSON_COMPACT);
			int rc = body ? post_json(d->app->cfg.alert_webhook_url, body, why, sizeof why) : -1;
			free(body);
			if (rc != 0)
				log_json(LOG_WARN, "alert delivery to the webhook failed; will retry",
					 json_pack("{s:s, s:O}", "error", why, "alert_id", json_object_get(row, "id")));
			json_t *one = json_pack("[O]", row);
			int mrc = mark(c, rc == 0 ? sql_hook_sent : sql_hook_failed, one, rc == 0 ? NULL : why);
			json_decref(one);
			if (mrc != 0)
				goto out;
			if (atomic_load(&d->stopping))
				break;
		}
	}
	if (db_commit(c, err, sizeof err) != 0)
		log_json(LOG_WARN, "alert delivery: outcome not recorded", json_pack("{s:s}", "error", err));
	else
		log_json(LOG_DEBUG, "alerts delivered", json_pack("{s:s, s:i}", "receiver", am ? "alertmanager" : "webhook",
								   "alerts", (int)json_array_size(rows)));
out:
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		db_rollback(c);
	json_decref(rows);
}

static void sleep_ms(struct alert_delivery *d, int ms)
{
	util_pause(&d->lock, &d->wake, &d->stopping, ms);
}

static void *delivery_main(void *arg)
{
	struct alert_delivery *d = arg;
	PGconn *c = NULL;
	char err[512];
	while (!atomic_load(&d->stopping)) {
		if (!c || PQstatus(c) != CONNECTION_OK) {
			if (c)
				PQfinish(c);
			c = db_connect(d->app->cfg.database_url, "shopperlake-alerts", err, sizeof err);
			if (!c) {
				log_json(LOG_WARN, "alert delivery: lake connection failed; retrying",
					 json_pack("{s:s}", "error", err));
				sleep_ms(d, 2000);
				continue;
			}
		}
		if (d->am_url[0])
			round_for(d, c, true);
		if (d->app->cfg.alert_webhook_url && !atomic_load(&d->stopping))
			round_for(d, c, false);
		sleep_ms(d, TICK_MS);
	}
	if (c)
		PQfinish(c);
	return NULL;
}

struct alert_delivery *alert_delivery_start(struct app *app, char *err, size_t errlen)
{
	err[0] = 0;
	if (!app->cfg.alertmanager_url && !app->cfg.alert_webhook_url)
		return NULL;
	struct alert_delivery *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->app = app;
	if (app->cfg.alertmanager_url) {
		const char *u = app->cfg.alertmanager_url;
		size_t n = strlen(u);
		while (n > 0 && u[n - 1] == '/')
			n--;
		snprintf(d->am_url, sizeof d->am_url, "%.*s/api/v2/alerts", (int)n, u);
	}
	atomic_init(&d->stopping, false);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	int rc = pthread_create(&d->thread, NULL, delivery_main, d);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the alert delivery thread: %s", strerror(rc));
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->wake);
		free(d);
		return NULL;
	}
	return d;
}

void alert_delivery_stop(struct alert_delivery *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	atomic_store(&d->stopping, true);
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->wake);
	free(d);
}
