/* Extraction from a JSON API (the redesocial social network).
 *
 * A load asks the API for everything updated after the stored offset (the
 * newest updated_at already landed), page by page. Each page's body is kept
 * in the bucket exactly as received (written to a temporary name, then
 * renamed), then its records stream into LAND: the declared columns taken
 * from the record by path, the whole record as jsonb, and the file name.
 * The offset becomes the newest updated_at seen, committed with the rows by
 * the runner, so a page is never skipped: a failure anywhere rolls back the
 * whole load, and the rerun starts again from the same offset.
 *
 * Faults: 401 renews the token once; 429 waits for Retry-After (without
 * using up a retry, up to 30 times a page); 503 honours Retry-After; 5xx, a
 * transport error, an empty body or a truncated JSON body are retried with
 * capped exponential backoff and jitter (an empty or unreadable answer is
 * also kept in the bucket as an error file, as the seed does); after
 * options.max_retries the job fails with the last error and is retried as a
 * job. Any other 4xx is permanent. */
#include "jobs/sources/kind.h"
#include "jobs/sources/api/options.h"
#include "jobs/sources/api/http_fetch.h"
#include "lib/dynbuf.h"
#include "jobs/layers/land.h"
#include "jobs/layers/layers.h"
#include "jobs/layers/trusted_stage.h"
#include "jobs/sources/copy_text.h"
#include "lib/key_filter.h"
#include "lib/secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct api_load {
	struct worker_slot *w;
	const struct claimed_job *job;
	json_t *source;
	struct fetch http;
	char base_url[1024], endpoint[256], token_path[256];
	char *client_id, *client_secret;   /* from the secret; freed at the end */
	char *token;
	int page_size, max_retries;
	char bucket[4096];                 /* directory of this load's files */
	struct dynbuf row;                 /* COPY text of one row */
	long long version;                 /* grows with every record of the load */
	char *newest;                      /* newest updated_at seen (malloc'd) */
	const char *offset_column;
	/* TRUSTED typed beside LAND (trusted_stage.h): this page's rows for it */
	struct trusted_stage *stage;
	json_t *children;                  /* options.children */
	struct dynbuf keys;                /* COPY text of one record's key columns */
	struct dynbuf typed;               /* the columns and versions, a row each */
	struct dynbuf child_rows[TRUSTED_STAGE_CHILDREN];
	long long child_count[TRUSTED_STAGE_CHILDREN];
	struct key_filter *seen;           /* the keys landed so far */
	struct dynbuf twice;               /* [key values..., version] of rows whose key may have landed before */
};

/* the most bytes of that list (about 2 M rows); past it the stage is not kept */
#define TWICE_MAX_BYTES ((size_t)64 << 20)

static const char *opt_str(json_t *source, const char *name, const char *def)
{
	const char *v = json_string_value(json_object_get(json_object_get(source, "options"), name));
	return v ? v : def;
}

static int opt_int(json_t *source, const char *name, int def, int min, int max)
{
	json_t *v = json_object_get(json_object_get(source, "options"), name);
	if (!json_is_integer(v))
		return def;
	long long n = json_integer_value(v);
	return n < min ? min : n > max ? max : (int)n;
}

/* Sleeps ms, waking early (and saying so) when the job must stop. */
static bool nap(struct api_load *a, long ms)
{
	while (ms > 0 && !worker_should_stop(a->w)) {
		long step = ms > 100 ? 100 : ms;
		struct timespec ts = {0, step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !worker_should_stop(a->w);
}

static long backoff_ms(int attempt)
{
	long base = 200L << (attempt < 6 ? attempt : 6); /* 200 ms .. 12.8 s */
	if (base > 10000)
		base = 10000;
	return base / 2 + (long)(random() % (base / 2 + 1));
}

/* --- the bucket ------------------------------------------------------ */

/* Writes data to dir/name atomically: a temporary name, fsync, rename. */
static int bucket_write(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[4400], final[4400];
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	snprintf(final, sizeof final, "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, final) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void bucket_error_file(struct api_load *a, int page, int attempt, const char *url, const char *what)
{
	char name[512];
	snprintf(name, sizeof name, "%s-%05d.error-%d.json", a->job->name, page, attempt);
	json_t *e = json_pack("{s:s, s:s, s:i, s:I, s:s}", "error", what, "url", url, "status", (int)a->http.status,
			      "bytes", (json_int_t)a->http.body.len, "job", a->job->name);
	char *text = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	if (text)
		bucket_write(a->bucket, name, text, strlen(text));
	free(text);
}

/* --- COPY rows ------------------------------------------------------- */

static bool row_add(struct api_load *a, const char *s, size_t n)
{
	return dynbuf_add(&a->row, s, n);
}

/* Appends one COPY text field: backslash, tab, newline and CR escaped. */
static bool row_field(struct api_load *a, const char *s)
{
	if (!s)
		return row_add(a, "\\N", 2);
	for (const char *p = s; *p; p++) {
		const char *esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : NULL;
		if (!(esc ? row_add(a, esc, 2) : row_add(a, p, 1)))
			return false;
	}
	return true;
}

/* The value at a dotted path in a record, or NULL. */
static json_t *at_path(json_t *rec, const char *path)
{
	char buf[300];
	snprintf(buf, sizeof buf, "%s", path);
	json_t *cur = rec;
	for (char *save, *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10)) : json_object_get(cur, tok);
	return cur;
}

/* true when every real number in v prints back exactly with 15 significant
 * digits (as any decimal the API sent with up to 15 digits does) */
static bool reals_fit_15(json_t *v)
{
	if (json_is_real(v)) {
		char buf[40];
		snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
		return strtod(buf, NULL) == json_real_value(v);
	}
	const char *key;
	size_t i;
	json_t *item;
	if (json_is_object(v)) {
		json_object_foreach(v, key, item)
			if (!reals_fit_15(item))
				return false;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			if (!reals_fit_15(item))
				return false;
	}
	return true;
}

/* JSON text that keeps the digits the API sent: jansson writes reals with 17
 * significant digits (0.928 -> 0.92800000000000005); 15 reproduce any
 * decimal of up to 15 digits, and a value that needs more keeps its 17.
 * (`fit15`: reals_fit_15 of v, or of the record v is part of.) */
static char *dump_digits(json_t *v, size_t flags, bool fit15)
{
	return json_dumps(v, flags | (fit15 ? JSON_REAL_PRECISION(15) : 0));
}

static char *dump_exact(json_t *v, size_t flags)
{
	return dump_digits(v, flags, reals_fit_15(v));
}

/* Text of a JSON value as LAND keeps it (strings bare, the rest as JSON). */
static char *value_text(json_t *v)
{
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return dump_exact(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* A record's children for the stage: each element of the array at each
 * child's path, after the record's key, with its position (from 1) and the
 * record's version, as layers.trusted_children reads them from _record
 * (`fit15`: the digits the record was written with). */
static bool stage_children(struct api_load *a, json_t *rec, bool fit15, const char *version)
{
	size_t n, pos;
	json_t *child, *el;
	bool ok = true;
	json_array_foreach(a->children, n, child) {
		json_t *arr = at_path(rec, json_string_value(json_object_get(child, "path")));
		struct dynbuf *out = &a->child_rows[n];
		json_array_foreach(arr, pos, el) {
			char *text = dump_digits(el, JSON_ENCODE_ANY | JSON_COMPACT, fit15);
			ok = ok && text && (!a->keys.len || dynbuf_add(out, a->keys.data, a->keys.len)) &&
			     copy_text_add_int(out, (long long)pos + 1) && dynbuf_addc(out, '\t') &&
			     copy_text_add_field(out, (const unsigned char *)text, strlen(text)) == COPY_TEXT_OK &&
			     dynbuf_addc(out, '\t') && dynbuf_addstr(out, version) && dynbuf_addc(out, '\n');
			free(text);
			a->child_count[n]++;
		}
	}
	return ok;
}

/* Hands this page's rows to the stage. */
static void stage_flush(struct api_load *a)
{
	trusted_stage_put(a->stage, a->typed.data, a->typed.len);
	dynbuf_reset(&a->typed);
	for (size_t n = 0; n < json_array_size(a->children) && n < TRUSTED_STAGE_CHILDREN; n++) {
		trusted_stage_put_child(a->stage, (int)n, a->child_rows[n].data, a->child_rows[n].len, a->child_count[n]);
		dynbuf_reset(&a->child_rows[n]);
		a->child_count[n] = 0;
	}
}

static int land_record(struct api_load *a, json_t *rec, const char *file, struct load_error *err)
{
	size_t i;
	json_t *col;
	bool ok = true;
	dynbuf_reset(&a->row);
	dynbuf_reset(&a->keys);
	json_t *key = a->stage ? json_array() : NULL; /* the key's values */
	json_array_foreach(json_object_get(a->source, "columns"), i, col) {
		const char *path = json_string_value(json_object_get(col, "path"));
		char *text = value_text(at_path(rec, path ? path : json_string_value(json_object_get(col, "name"))));
		size_t start = a->row.len;
		ok = ok && row_field(a, text) && row_add(a, "\t", 1);
		if (key && json_is_true(json_object_get(col, "key"))) {
			ok = ok && dynbuf_add(&a->keys, a->row.data + start, a->row.len - start);
			json_array_append_new(key, text ? json_string(text) : json_null());
		}
		free(text);
	}
	char version[32];
	snprintf(version, sizeof version, "%lld", ++a->version);
	/* a key that may have landed before: the stage's end keeps its newest
	 * version only (and a key that did not, listed by chance, loses nothing) */
	if (key && a->seen && key_filter_add(a->seen, a->keys.data, a->keys.len) &&
	    json_array_append_new(key, json_integer(a->version)) == 0) {
		char *entry = json_dumps(key, JSON_COMPACT);
		if (!entry || (a->twice.len && !dynbuf_addc(&a->twice, ',')) || !dynbuf_addstr(&a->twice, entry))
			a->twice.failed = true;
		free(entry);
	}
	json_decref(key);
	bool fit15 = reals_fit_15(rec);
	char *record = dump_digits(rec, JSON_COMPACT, fit15);
	ok = ok && record && row_field(a, version);
	size_t typed_len = a->row.len; /* the columns and the version: the stage's row */
	ok = ok && row_add(a, "\tU\t", 3) && row_field(a, record) && row_add(a, "\t", 1) && row_field(a, file) &&
	     row_add(a, "\n", 1);
	free(record);
	if (ok && a->stage)
		ok = dynbuf_add(&a->typed, a->row.data, typed_len) && dynbuf_addc(&a->typed, '\n') &&
		     stage_children(a, rec, fit15, version);
	if (!ok)
		return load_fail(err, JOB_TRANSIENT, "out of memory");
	if (PQputCopyData(a->w->lake, a->row.data, (int)a->row.len) != 1)
		return load_fail(err, JOB_TRANSIENT, "lake copy: %s", PQerrorMessage(a->w->lake));

	/* the offset: the newest value of the offset column seen */
	json_t *ts = at_path(rec, a->offset_column);
	if (json_is_string(ts) && (!a->newest || strcmp(json_string_value(ts), a->newest) > 0)) {
		free(a->newest);
		a->newest = strdup(json_string_value(ts));
	}
	return 0;
}

/* --- the API --------------------------------------------------------- */

static int get_token(struct api_load *a, struct load_error *err)
{
	char url[1400];
	free(a->token);
	a->token = NULL;
	if (!a->client_id)
		return 0; /* an open API */
	snprintf(url, sizeof url, "%s%s", a->base_url, a->token_path);
	for (int attempt = 0; attempt <= a->max_retries; attempt++) {
		if (fetch_post_form(&a->http, url, a->client_id, a->client_secret, "grant_type=client_credentials") == 0) {
			if (a->http.status == 200) {
				json_t *doc = json_loads(a->http.body.data, 0, NULL);
				const char *tok = json_string_value(json_object_get(doc, "access_token"));
				a->token = tok ? strdup(tok) : NULL;
				json_decref(doc);
				if (a->token)
					return 0;
			} else if (a->http.status == 400 || a->http.status == 401 || a->http.status == 403) {
				return load_fail(err, JOB_PERMANENT, "the API refused the client credentials (HTTP %ld)",
						 a->http.status);
			}
		}
		if (!nap(a, backoff_ms(attempt)))
			return load_fail(err, JOB_CANCELLED, "cancelled");
	}
	return load_fail(err, JOB_TRANSIENT, "no token from %s: %s (HTTP %ld)", url,
			 a->http.error[0] ? a->http.error : "bad answer", a->http.status);
}

/* Fetches one page with every retry; on success *doc is the parsed body. */
static int fetch_page(struct api_load *a, const char *url, int page, json_t **doc, struct load_error *err)
{
	bool renewed = false;
	char what[300] = "";
	int rate_limited = 0;   /* 429s wait as told and do not use up retries, up to a bound */
	for (int attempt = 0; attempt <= a->max_retries; attempt++) {
		if (worker_should_stop(a->w))
			return load_fail(err, JOB_CANCELLED, "cancelled");
		if (fetch_get(&a->http, url, a->token) != 0) {
			snprintf(what, sizeof what, "%s", a->http.error);
		} else if (a->http.status == 401 && !renewed) {
			renewed = true;
			attempt--; /* a renewed token is not a retry */
			if (get_token(a, err) != 0)
				return -1;
			continue;
		} else if (a->http.status == 429) {
			snprintf(what, sizeof what, "HTTP 429 (rate limited)");
			long wait = a->http.retry_after >= 0 ? a->http.retry_after * 1000 : backoff_ms(attempt);
			if (!nap(a, wait > 60000 ? 60000 : wait))
				return load_fail(err, JOB_CANCELLED, "cancelled");
			if (++rate_limited <= 30)
				attempt--;
			continue;
		} else if (a->http.status >= 500) {
			snprintf(what, sizeof what, "HTTP %ld", a->http.status);
			if (a->http.status == 503 && a->http.retry_after >= 0) {
				long wait = a->http.retry_after * 1000;
				if (!nap(a, wait > 60000 ? 60000 : wait))
					return load_fail(err, JOB_CANCELLED, "cancelled");
				continue;
			}
		} else if (a->http.status != 200) {
			json_t *e = json_loads(a->http.body.data, 0, NULL);
			const char *code = json_string_value(json_object_get(e, "error"));
			load_fail(err, JOB_PERMANENT, "%s answered HTTP %ld%s%s%s", url, a->http.status,
				  code ? " (" : "", code ? code : "", code ? ")" : "");
			if (code && strcmp(code, "since_out_of_window") == 0)
				load_fail(err, JOB_PERMANENT, "the API no longer serves changes since the stored offset "
					  "(%s); run a full load", code);
			json_decref(e);
			return -1;
		} else if (a->http.body.len == 0) {
			snprintf(what, sizeof what, "empty answer");
			bucket_error_file(a, page, attempt, url, what);
		} else {
			json_error_t je;
			*doc = json_loadb(a->http.body.data, a->http.body.len, 0, &je);
			if (*doc && json_is_array(json_object_get(*doc, "data")))
				return 0;
			json_decref(*doc);
			*doc = NULL;
			snprintf(what, sizeof what, "unreadable JSON (%s at byte %d)", je.text, je.position);
			bucket_error_file(a, page, attempt, url, what);
		}
		if (!nap(a, backoff_ms(attempt)))
			return load_fail(err, JOB_CANCELLED, "cancelled");
	}
	return load_fail(err, JOB_TRANSIENT, "page %d of %s failed %d times; last: %s", page, url,
			 a->max_retries + 1, what);
}

static int setup(struct api_load *a, struct load_error *err)
{
	char msg[256], *secret = NULL;
	const char *base = opt_str(a->source, "base_url", NULL);
	if (!base || (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)))
		return load_fail(err, JOB_PERMANENT, "options.base_url must be an http(s) URL");
	snprintf(a->base_url, sizeof a->base_url, "%s", base);
	while (a->base_url[0] && a->base_url[strlen(a->base_url) - 1] == '/')
		a->base_url[strlen(a->base_url) - 1] = 0;
	char def_endpoint[128];
	snprintf(def_endpoint, sizeof def_endpoint, "/v1/%s", json_string_value(json_object_get(a->source, "object")));
	snprintf(a->endpoint, sizeof a->endpoint, "%s", opt_str(a->source, "endpoint", def_endpoint));
	snprintf(a->token_path, sizeof a->token_path, "%s", opt_str(a->source, "token_path", "/oauth/token"));
	a->page_size = opt_int(a->source, "page_size", 500, 1, 10000);
	a->max_retries = opt_int(a->source, "max_retries", 6, 0, 50);
	a->offset_column = json_string_value(json_object_get(a->source, "offset_column"));
	if (!a->offset_column)
		a->offset_column = "updated_at";

	const char *ref = json_string_value(json_object_get(a->source, "connection_secret"));
	if (ref) {
		if (secret_resolve(ref, &secret, msg, sizeof msg) != 0)
			return load_fail(err, JOB_PERMANENT, "connection_secret: %s", msg);
		char *colon = strchr(secret, ':');
		if (!colon) {
			free(secret);
			return load_fail(err, JOB_PERMANENT, "connection_secret must hold client_id:client_secret");
		}
		*colon = 0;
		a->client_id = strdup(secret);
		a->client_secret = strdup(colon + 1);
		memset(secret, 0, strlen(colon + 1) + (size_t)(colon - secret) + 1);
		free(secret);
	}

	if (job_bucket_dir(a->w, a->source, a->bucket, sizeof a->bucket, err) != 0)
		return -1;
	if (fetch_init(&a->http, opt_int(a->source, "timeout_ms", 30000, 100, 600000)) != 0)
		return load_fail(err, JOB_TRANSIENT, "out of memory");
	return 0;
}

/* TRUSTED typed beside LAND, unless an override makes the TRUSTED step */
static bool may_stage(struct worker_slot *w, json_t *source)
{
	char table[200];
	job_lake_table(source, table, sizeof table);
	char *override = layers_override(w, table, "trusted");
	bool none = !override;
	free(override);
	return none;
}

static int extract_api(struct worker_slot *w, const struct claimed_job *job, json_t *source,
		       const char *land_table, struct load_result *res, struct load_error *err)
{
	struct api_load a = {.w = w, .job = job, .source = source};
	char msg[512], url[4096];
	int rc = -1;
	bool copying = false;
	const char *before = json_string_value(json_object_get(source, "last_offset"));
	bool incremental = strcmp(job->load_type, "incremental") == 0 && before;

	if (setup(&a, err) != 0 || get_token(&a, err) != 0)
		goto out;
	if (land_add_column(w->lake, land_table, "_record", "jsonb", msg, sizeof msg) != 0 ||
	    land_add_column(w->lake, land_table, "_file", "text", msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
		goto out;
	}
	a.stage = may_stage(w, source) ? trusted_stage_begin_changes(w, source, job->id, land_table) : NULL;
	a.seen = a.stage ? key_filter_new() : NULL;
	dynbuf_init(&a.twice, TWICE_MAX_BYTES);
	if (land_copy_begin_extra(w->lake, source, land_table, ", _record, _file", msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
		goto out;
	}
	copying = true;
	res->snapshot = false;
	a.children = json_object_get(json_object_get(source, "options"), "children");
	char *page_token = NULL;
	for (int page = 1;; page++) {
		char *since = incremental ? curl_easy_escape(a.http.curl, before, 0) : NULL;
		char *tok = page_token ? curl_easy_escape(a.http.curl, page_token, 0) : NULL;
		snprintf(url, sizeof url, "%s%s?page_size=%d%s%s%s%s", a.base_url, a.endpoint, a.page_size,
			 since ? "&since=" : "", since ? since : "", tok ? "&page_token=" : "", tok ? tok : "");
		curl_free(since);
		curl_free(tok);
		json_t *doc = NULL;
		if (fetch_page(&a, url, page, &doc, err) != 0) {
			free(page_token);
			goto out;
		}
		char name[512];
		snprintf(name, sizeof name, "%s-%05d.json", job->name, page);
		if (bucket_write(a.bucket, name, a.http.body.data, a.http.body.len) != 0) {
			json_decref(doc);
			free(page_token);
			load_fail(err, JOB_TRANSIENT, "cannot write %s/%s: %s", a.bucket, name, strerror(errno));
			goto out;
		}
		char file[4700];
		snprintf(file, sizeof file, "%s/%s", a.bucket, name);
		job_track_file(w, file);
		size_t i;
		json_t *rec;
		json_array_foreach(json_object_get(doc, "data"), i, rec) {
			if (land_record(&a, rec, file, err) != 0) {
				json_decref(doc);
				free(page_token);
				goto out;
			}
			res->rows_read++;
		}
		atomic_store(&w->rows_read, res->rows_read);
		stage_flush(&a);
		free(page_token);
		const char *next = json_string_value(json_object_get(doc, "next_page_token"));
		page_token = next && *next ? strdup(next) : NULL;
		json_decref(doc);
		if (!page_token)
			break;
	}
	copying = false;
	if (land_copy_end(w->lake, NULL, &res->rows_written, msg, sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake copy: %s", msg);
		goto out;
	}
	res->offset_after = a.newest ? strdup(a.newest) : before ? strdup(before) : NULL;
	res->wait_seconds = a.http.wait_seconds;
	rc = 0;
out:
	/* (its commit goes on while the load's does: the runner waits for it) */
	if (a.stage) {
		/* (a list that did not fit: the stage is not kept) */
		char *list = NULL;
		if (a.seen && !a.twice.failed && (list = malloc(a.twice.len + 3)))
			snprintf(list, a.twice.len + 3, "[%s]", dynbuf_cstr(&a.twice));
		trusted_stage_twice(a.stage, list);
	}
	res->stage = trusted_stage_end(a.stage, rc == 0, res->rows_written);
	key_filter_free(a.seen);
	if (copying) {
		long long ignored;
		land_copy_end(w->lake, "extraction failed", &ignored, msg, sizeof msg);
	}
	fetch_cleanup(&a.http);
	if (a.client_secret)
		memset(a.client_secret, 0, strlen(a.client_secret));
	free(a.client_id);
	free(a.client_secret);
	free(a.token);
	dynbuf_free(&a.row);
	dynbuf_free(&a.keys);
	dynbuf_free(&a.twice);
	dynbuf_free(&a.typed);
	for (int n = 0; n < TRUSTED_STAGE_CHILDREN; n++)
		dynbuf_free(&a.child_rows[n]);
	free(a.newest);
	return rc;
}

const struct source_kind source_kind_api = {
	.name = "api",
	.offset_modes = OFFSET_WATERMARK,
	.default_offset_mode = OFFSET_WATERMARK,
	.columns_are_paths = true,
	.has_children = true,
	.validate_options = api_options_validate,
	.extract = extract_api,
};
