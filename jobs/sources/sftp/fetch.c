/* SFTP listing, stat and download with libcurl (see sftp_fetch.h).
 *
 * The listing is libcurl's long format of an sftp:// directory URL, one
 * "ls -l" line per entry as the server writes it: only its type letter and
 * the name are used; exact sizes and mtimes come from a stat of each
 * matching file (NOBODY + FILETIME), since the long format rounds times to
 * the minute. Errors are sorted into transient and permanent from the
 * libcurl code: a refused host key or login never turns into a retry. */
#include "jobs/sources/sftp/fetch.h"
#include "lib/base64.h"
#include "lib/dynbuf.h"
#include "lib/secret.h"

#include <errno.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIST_MAX (64u * 1024 * 1024)

struct sink {
	struct sftp_session *s;
	int fd;
	EVP_MD_CTX *sha;
	long long bytes;
	int (*tee)(void *arg, const char *data, size_t len);
	void *tee_arg;
};

/* --- host keys ------------------------------------------------------- */

static const char *khtype_name(enum curl_khtype t)
{
	switch (t) {
	case CURLKHTYPE_RSA1:
	case CURLKHTYPE_RSA:
		return "ssh-rsa";
	case CURLKHTYPE_DSS:
		return "ssh-dss";
	case CURLKHTYPE_ECDSA:
		return "ecdsa-sha2";
	case CURLKHTYPE_ED25519:
		return "ssh-ed25519";
	default:
		return "unknown";
	}
}

/* "SHA256:<base64 without padding>" of a raw key blob. */
static void fingerprint(const unsigned char *blob, size_t len, char *out, size_t outlen)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	unsigned char b64[64];
	if (!EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL)) {
		snprintf(out, outlen, "SHA256:?");
		return;
	}
	int n = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, outlen, "SHA256:%.*s", n, (const char *)b64);
}

static int on_host_key(CURL *easy, const struct curl_khkey *known, const struct curl_khkey *found,
		       enum curl_khmatch match, void *arg)
{
	struct sftp_session *s = arg;
	(void)easy;
	(void)known;
	if (match == CURLKHMATCH_OK)
		return CURLKHSTAT_FINE;
	char fp[80] = "SHA256:?";
	if (found && found->len > 0) {
		fingerprint((const unsigned char *)found->key, found->len, fp, sizeof fp);
	} else if (found && found->key) {
		size_t n;
		unsigned char *blob = base64_decode(found->key, &n);
		if (blob)
			fingerprint(blob, n, fp, sizeof fp);
		free(blob);
	}
	snprintf(s->key_problem, sizeof s->key_problem,
		 "the server's host key (%s %s) is not options.known_host (%s); refused",
		 found ? khtype_name(found->keytype) : "?", fp, s->expect);
	return CURLKHSTAT_REJECT;
}

static int write_known_hosts(struct sftp_session *s, const char *tmpdir, char *err, size_t errlen)
{
	char type[32], key[1024];
	if (sftp_known_host_parse(s->o->known_host, type, sizeof type, key, sizeof key) != 0) {
		snprintf(err, errlen, "options.known_host is not a host key");
		return -1;
	}
	if (strcmp(type, "SHA256") == 0) {
		snprintf(s->expect, sizeof s->expect, "SHA256:%.100s", key);
		return 0;
	}
	size_t blen;
	unsigned char *blob = base64_decode(key, &blen);
	char fp[80];
	if (!blob) {
		snprintf(err, errlen, "options.known_host: the key is not valid base64");
		return -1;
	}
	fingerprint(blob, blen, fp, sizeof fp);
	free(blob);
	snprintf(s->expect, sizeof s->expect, "%.31s %.100s", type, fp);

	snprintf(s->known_hosts, sizeof s->known_hosts, "%s/shopperlake-known-hosts-XXXXXX", tmpdir);
	int fd = mkstemp(s->known_hosts);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a known_hosts file in %s: %s", tmpdir, strerror(errno));
		s->known_hosts[0] = 0;
		return -1;
	}
	FILE *f = fdopen(fd, "w");
	bool colon = strchr(s->o->host, ':') != NULL;
	int ok = f != NULL;
	/* libssh2 looks a host up as "host" on port 22, "[host]:port" otherwise */
	if (ok && s->o->port == 22 && !colon)
		ok = fprintf(f, "%s %s %s\n", s->o->host, type, key) > 0;
	else if (ok)
		ok = fprintf(f, "[%s]:%d %s %s\n", s->o->host, s->o->port, type, key) > 0;
	if (f ? fclose(f) != 0 : close(fd) != 0)
		ok = 0;
	if (!ok) {
		snprintf(err, errlen, "cannot write the known_hosts file: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --- the handle ------------------------------------------------------ */

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct sftp_session *s = arg;
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return s->should_stop && s->should_stop(s->stop_ctx) ? 1 : 0;
}

/* Percent-escapes each segment of a path, keeping '/' and a leading '~'. */
static char *escape_path(CURL *curl, const char *path)
{
	size_t cap = strlen(path) * 3 + 4, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	const char *p = path;
	if (p[0] == '~') {
		out[len++] = '~';
		p++;
	}
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n) {
			char *e = curl_easy_escape(curl, p, (int)n);
			if (!e) {
				free(out);
				return NULL;
			}
			size_t en = strlen(e);
			memcpy(out + len, e, en);
			len += en;
			curl_free(e);
			p += n;
		}
		if (*p == '/')
			out[len++] = *p++;
	}
	if (len == 0 || out[len - 1] != '/')
		out[len++] = '/';
	out[len] = 0;
	return out;
}

int sftp_open(struct sftp_session *s, const struct sftp_options *o, const char *tmpdir,
	      bool (*should_stop)(void *), void *stop_ctx, char *err, size_t errlen)
{
	char msg[256];
	memset(s, 0, sizeof *s);
	s->o = o;
	s->should_stop = should_stop;
	s->stop_ctx = stop_ctx;
	if (o->password_secret && secret_resolve(o->password_secret, &s->password, msg, sizeof msg) != 0) {
		/* with a key, a password is only a second way in */
		if (!o->private_key_file) {
			snprintf(err, errlen, "password: %s", msg);
			return -1;
		}
	}
	if (o->passphrase_secret && secret_resolve(o->passphrase_secret, &s->passphrase, msg, sizeof msg) != 0) {
		snprintf(err, errlen, "options.passphrase_secret: %s", msg);
		goto fail;
	}
	if (o->private_key_file && access(o->private_key_file, R_OK) != 0) {
		snprintf(err, errlen, "options.private_key_file %s cannot be read: %s", o->private_key_file,
			 strerror(errno));
		goto fail;
	}
	if (write_known_hosts(s, tmpdir, err, errlen) != 0)
		goto fail;
	s->curl = curl_easy_init();
	bool v6 = strchr(o->host, ':') != NULL;
	if (!s->curl || asprintf(&s->base_url, "sftp://%s%s%s:%d", v6 ? "[" : "", o->host, v6 ? "]" : "", o->port) < 0 ||
	    !(s->dir_path = escape_path(s->curl, o->directory))) {
		s->base_url = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	CURL *c = s->curl;
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "sftp");
	curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
	long auth = 0;
	if (o->private_key_file) {
		auth |= CURLSSH_AUTH_PUBLICKEY;
		curl_easy_setopt(c, CURLOPT_SSH_PRIVATE_KEYFILE, o->private_key_file);
		curl_easy_setopt(c, CURLOPT_SSH_PUBLIC_KEYFILE, ""); /* derived from the private key */
		if (s->passphrase)
			curl_easy_setopt(c, CURLOPT_KEYPASSWD, s->passphrase);
	}
	if (s->password) {
		auth |= CURLSSH_AUTH_PASSWORD | CURLSSH_AUTH_KEYBOARD;
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
	}
	curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES, auth);
	if (s->known_hosts[0]) {
		curl_easy_setopt(c, CURLOPT_SSH_KNOWNHOSTS, s->known_hosts);
		curl_easy_setopt(c, CURLOPT_SSH_KEYFUNCTION, on_host_key);
		curl_easy_setopt(c, CURLOPT_SSH_KEYDATA, s);
	} else {
		curl_easy_setopt(c, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, s->expect + 7);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)o->timeout_seconds);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)o->timeout_seconds);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_error);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	return 0;
fail:
	sftp_close(s);
	return -1;
}

void sftp_close(struct sftp_session *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	if (s->known_hosts[0])
		unlink(s->known_hosts);
	if (s->password) {
		memset(s->password, 0, strlen(s->password));
		free(s->password);
	}
	if (s->passphrase) {
		memset(s->passphrase, 0, strlen(s->passphrase));
		free(s->passphrase);
	}
	free(s->base_url);
	free(s->dir_path);
	memset(s, 0, sizeof *s);
}

/* Sorts a failed transfer into an outcome with a message. */
static enum sftp_status outcome(struct sftp_session *s, CURLcode rc, char *err, size_t errlen)
{
	const char *detail = s->curl_error[0] ? s->curl_error : curl_easy_strerror(rc);
	s->reconnect = rc != CURLE_REMOTE_FILE_NOT_FOUND;
	switch (rc) {
	case CURLE_OK:
		return SFTP_OK;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(err, errlen, "%s", s->key_problem[0] ? s->key_problem : detail);
		return SFTP_PERMANENT;
	case CURLE_LOGIN_DENIED:
		snprintf(err, errlen, "the server refused the login of %s (%s)", s->o->user, detail);
		return SFTP_PERMANENT;
	case CURLE_REMOTE_ACCESS_DENIED:
		snprintf(err, errlen, "access denied (%s)", detail);
		return SFTP_PERMANENT;
	case CURLE_REMOTE_FILE_NOT_FOUND:
		snprintf(err, errlen, "no such file or directory");
		return SFTP_GONE;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(err, errlen, "cancelled");
		return SFTP_CANCELLED;
	case CURLE_WRITE_ERROR:
		snprintf(err, errlen, "%s", s->write_problem[0] ? s->write_problem : detail);
		return SFTP_TRANSIENT;
	default:
		if (s->key_problem[0]) {
			snprintf(err, errlen, "%s", s->key_problem);
			return SFTP_PERMANENT;
		}
		snprintf(err, errlen, "%s", detail);
		return SFTP_TRANSIENT;
	}
}

/* Sets up one request for `name` in the directory ("" = the directory).
 * "sftp://h:p/abs/dir/" is an absolute path, "sftp://h:p/~/dir/" one
 * under the login's home. */
static int request(struct sftp_session *s, const char *name, bool nobody, char *err, size_t errlen)
{
	char *ename = name[0] ? curl_easy_escape(s->curl, name, 0) : NULL;
	char *url = NULL;
	if ((name[0] && !ename) || asprintf(&url, "%s%s%s%s", s->base_url, s->dir_path[0] == '/' ? "" : "/",
					    s->dir_path, ename ? ename : "") < 0) {
		curl_free(ename);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_free(ename);
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(s->curl, CURLOPT_NOBODY, nobody ? 1L : 0L);
	curl_easy_setopt(s->curl, CURLOPT_FILETIME, nobody ? 1L : 0L);
	curl_easy_setopt(s->curl, CURLOPT_FRESH_CONNECT, s->reconnect ? 1L : 0L);
	s->reconnect = false;
	s->curl_error[0] = s->key_problem[0] = s->write_problem[0] = 0;
	s->tee_failed = false;
	return 0;
}

/* --- listing --------------------------------------------------------- */

/* Gathers the listing into a dynbuf capped at LIST_MAX; a short count aborts the transfer. */
static size_t on_listing(char *data, size_t size, size_t n, void *arg)
{
	return dynbuf_add(arg, data, size * n) ? size * n : 0;
}

/* The name in an "ls -l" line: after the 8 fields perms, links, owner,
 * group, size and a 3-field date. NULL when the line has fewer. */
static char *long_entry_name(char *line)
{
	char *p = line;
	for (int field = 0; field < 8; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return NULL;
		while (*p && *p != ' ')
			p++;
	}
	if (*p != ' ')
		return NULL;
	p++;
	/* a symlink reads "name -> target" */
	if (line[0] == 'l') {
		char *arrow = strstr(p, " -> ");
		if (arrow)
			*arrow = 0;
	}
	return *p ? p : NULL;
}

static int cmp_files(const void *a, const void *b)
{
	const struct sftp_file *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

void sftp_files_free(struct sftp_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		free(files[i].name);
	free(files);
}

enum sftp_status sftp_list(struct sftp_session *s, struct sftp_file **files, size_t *n, char *err, size_t errlen)
{
	struct dynbuf l;
	dynbuf_init(&l, LIST_MAX);
	struct sftp_file *out = NULL;
	size_t count = 0, cap = 0;
	enum sftp_status st;
	*files = NULL;
	*n = 0;
	if (request(s, "", false, err, errlen) != 0)
		return SFTP_TRANSIENT;
	curl_easy_setopt(s->curl, CURLOPT_DIRLISTONLY, 0L);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_listing);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &l);
	CURLcode rc = curl_easy_perform(s->curl);
	if (rc != CURLE_OK) {
		st = outcome(s, rc, err, errlen);
		if (st == SFTP_GONE) {
			snprintf(err, errlen, "the directory does not exist");
			st = SFTP_PERMANENT;
		}
		if (l.too_big)
			snprintf(err, errlen, "the listing of %s is larger than %u bytes", s->o->directory, LIST_MAX);
		goto out;
	}
	for (char *save = NULL, *line = l.data ? strtok_r(l.data, "\r\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (line[0] != '-' && line[0] != 'l')
			continue; /* directories, devices */
		char *name = long_entry_name(line);
		if (!name || strchr(name, '/') || name[0] == '.' || fnmatch(s->o->pattern, name, FNM_PERIOD) != 0)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			struct sftp_file *grown = realloc(out, cap * sizeof *out);
			if (!grown) {
				snprintf(err, errlen, "out of memory");
				st = SFTP_TRANSIENT;
				goto out;
			}
			out = grown;
		}
		if (!(out[count].name = strdup(name))) {
			snprintf(err, errlen, "out of memory");
			st = SFTP_TRANSIENT;
			goto out;
		}
		out[count].size = out[count].mtime = -1;
		count++;
	}
	/* exact sizes and times; a file gone since the listing is left out */
	size_t kept = 0;
	for (size_t i = 0; i < count; i++) {
		st = sftp_stat(s, out[i].name, &out[i].size, &out[i].mtime, err, errlen);
		if (st == SFTP_GONE) {
			free(out[i].name);
			continue;
		}
		if (st != SFTP_OK) {
			char why[512];
			snprintf(why, sizeof why, "%s", err);
			snprintf(err, errlen, "%s: %s", out[i].name, why);
			for (size_t k = i; k < count; k++)
				free(out[k].name);
			count = kept;
			goto out;
		}
		out[kept++] = out[i];
	}
	count = kept;
	if (count)
		qsort(out, count, sizeof *out, cmp_files);
	*files = out;
	*n = count;
	out = NULL;
	st = SFTP_OK;
out:
	sftp_files_free(out, count);
	dynbuf_free(&l);
	return st;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data, (void)arg;
	return size * n;
}

enum sftp_status sftp_stat(struct sftp_session *s, const char *name, long long *size, long long *mtime,
			   char *err, size_t errlen)
{
	if (request(s, name, true, err, errlen) != 0)
		return SFTP_TRANSIENT;
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, discard);
	CURLcode rc = curl_easy_perform(s->curl);
	if (rc != CURLE_OK)
		return outcome(s, rc, err, errlen);
	curl_off_t len = -1, t = -1;
	curl_easy_getinfo(s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	curl_easy_getinfo(s->curl, CURLINFO_FILETIME_T, &t);
	if (t < 0) {
		snprintf(err, errlen, "the server gave no modification time for %s", name);
		return SFTP_TRANSIENT;
	}
	*size = (long long)len;
	*mtime = (long long)t;
	return SFTP_OK;
}

/* --- download -------------------------------------------------------- */

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t len = size * n, off = 0;
	while (off < len) {
		ssize_t w = write(k->fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(k->s->write_problem, sizeof k->s->write_problem, "cannot write the bucket file: %s",
				 strerror(w < 0 ? errno : ENOSPC));
			return 0;
		}
		off += (size_t)w;
	}
	EVP_DigestUpdate(k->sha, data, len);
	k->bytes += (long long)len;
	if (k->tee && k->tee(k->tee_arg, data, len) != 0) {
		k->s->tee_failed = true;
		snprintf(k->s->write_problem, sizeof k->s->write_problem, "the rows could not be landed");
		return 0;
	}
	return len;
}

enum sftp_status sftp_download(struct sftp_session *s, const char *name, int fd,
			       int (*tee)(void *arg, const char *data, size_t len), void *tee_arg, long long *bytes,
			       char sha256_hex[65], char *err, size_t errlen)
{
	struct sink k = {.s = s, .fd = fd, .sha = EVP_MD_CTX_new(), .tee = tee, .tee_arg = tee_arg};
	enum sftp_status st = SFTP_TRANSIENT;
	*bytes = 0;
	sha256_hex[0] = 0;
	if (!k.sha || !EVP_DigestInit_ex(k.sha, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "cannot start SHA-256");
		goto out;
	}
	if (lseek(fd, 0, SEEK_SET) != 0 || ftruncate(fd, 0) != 0) {
		snprintf(err, errlen, "cannot rewind the bucket file: %s", strerror(errno));
		goto out;
	}
	if (request(s, name, false, err, errlen) != 0)
		goto out;
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &k);
	CURLcode rc = curl_easy_perform(s->curl);
	*bytes = k.bytes;
	if (rc != CURLE_OK) {
		st = outcome(s, rc, err, errlen);
		goto out;
	}
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_DigestFinal_ex(k.sha, md, &mdlen)) {
		snprintf(err, errlen, "cannot finish SHA-256");
		goto out;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(sha256_hex + 2 * i, 3, "%02x", md[i]);
	st = SFTP_OK;
out:
	EVP_MD_CTX_free(k.sha);
	return st;
}
