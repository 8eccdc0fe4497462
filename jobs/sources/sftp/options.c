/* Checks and reads the options of an sftp source (see sftp_options.h).
 * The checks run when a source is written (control/source_validate.c) and
 * again when a load starts, so a definition stored before a rule existed
 * fails with the same message instead of half-way through a load. */
#include "jobs/sources/sftp/options.h"
#include "lib/secret.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const option_names[] = {
	"host", "port", "user", "private_key_file", "passphrase_secret", "password_secret", "known_host",
	"directory", "pattern", "delimiter", "quote", "header", "encoding", "decimal_comma", "date_format",
	"max_reject_pct", "min_age_seconds", "max_retries", "timeout_seconds", "stream",
	"checks", "soft_delete", "freshness", "retention", /* options of every source, checked by source_validate */
	NULL};

static const char *const key_types[] = {"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
					"ecdsa-sha2-nistp521", "ssh-dss", NULL};

struct check {
	json_t *opts;
	char *field, *msg;
	size_t fieldlen, msglen;
};

static int bad(struct check *c, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(struct check *c, const char *name, const char *fmt, ...)
{
	va_list ap;
	snprintf(c->field, c->fieldlen, "options%s%s", name ? "." : "", name ? name : "");
	va_start(ap, fmt);
	vsnprintf(c->msg, c->msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/* An optional string (default when absent); -1 when present and not a string. */
static int string_opt(struct check *c, const char *name, const char *def, const char **out)
{
	json_t *v = json_object_get(c->opts, name);
	*out = def;
	if (!v || json_is_null(v)) {
		if (def)
			json_object_set_new(c->opts, name, json_string(def));
		return 0;
	}
	if (!json_is_string(v))
		return bad(c, name, "must be a string");
	*out = json_string_value(v);
	return 0;
}

static int required(struct check *c, const char *name, const char *what, const char **out)
{
	if (string_opt(c, name, NULL, out))
		return -1;
	if (!*out || !**out)
		return bad(c, name, "is required for an sftp source: %s", what);
	return 0;
}

static int int_opt(struct check *c, const char *name, int def, int min, int max, int *out)
{
	json_t *v = json_object_get(c->opts, name);
	if (!v || json_is_null(v)) {
		json_object_set_new(c->opts, name, json_integer(def));
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return bad(c, name, "must be an integer from %d to %d", min, max);
	*out = (int)json_integer_value(v);
	return 0;
}

static int bool_opt(struct check *c, const char *name, bool def, bool *out)
{
	json_t *v = json_object_get(c->opts, name);
	if (!v || json_is_null(v)) {
		json_object_set_new(c->opts, name, json_boolean(def));
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return bad(c, name, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool host_valid(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253)
		return false;
	bool colon = strchr(h, ':') != NULL; /* an IPv6 literal */
	for (const char *p = h; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || (colon && *p == ':')))
			return false;
	return h[0] != '-' && h[0] != '.';
}

static bool base64_valid(const char *s, size_t n, bool padded)
{
	if (n < 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '/' || (padded && s[i] == '=' && i + 2 >= n)))
			return false;
	return !padded || n % 4 == 0;
}

int sftp_known_host_parse(const char *value, char *type, size_t typelen, char *key, size_t keylen)
{
	if (!value)
		return -1;
	if (strncmp(value, "SHA256:", 7) == 0) {
		size_t n = strcspn(value + 7, " \t=");
		if (!base64_valid(value + 7, n, false) || n + 1 > keylen)
			return -1;
		snprintf(type, typelen, "SHA256");
		snprintf(key, keylen, "%.*s", (int)n, value + 7);
		return 0;
	}
	/* "[hosts] type base64 [comment]": find the type among the words */
	const char *p = value;
	for (int word = 0; word < 2 && *p; word++) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t");
		for (const char *const *t = key_types; *t; t++) {
			if (strlen(*t) != n || strncmp(p, *t, n) != 0)
				continue;
			const char *k = p + n;
			while (*k == ' ' || *k == '\t')
				k++;
			size_t kn = strcspn(k, " \t\r\n");
			if (!base64_valid(k, kn, true) || kn + 1 > keylen || n + 1 > typelen)
				return -1;
			snprintf(type, typelen, "%s", *t);
			snprintf(key, keylen, "%.*s", (int)kn, k);
			return 0;
		}
		p += n;
	}
	return -1;
}

static int one_char(struct check *c, const char *name, const char *def, char *out)
{
	const char *s;
	if (string_opt(c, name, def, &s))
		return -1;
	if (strlen(s) != 1 || (!isprint((unsigned char)s[0]) && s[0] != '\t') || s[0] == '\r' || s[0] == '\n')
		return bad(c, name, "must be one character, e.g. \";\" or \"\\t\"");
	*out = s[0];
	return 0;
}

static int check_dialect(struct check *c, struct csv_dialect *d)
{
	const char *enc, *datefmt;
	memset(d, 0, sizeof *d);
	if (one_char(c, "delimiter", ",", &d->delimiter) || one_char(c, "quote", "\"", &d->quote) ||
	    bool_opt(c, "header", true, &d->header) || bool_opt(c, "decimal_comma", false, &d->decimal_comma) ||
	    string_opt(c, "encoding", "utf-8", &enc) || string_opt(c, "date_format", NULL, &datefmt))
		return -1;
	if (d->delimiter == d->quote)
		return bad(c, "quote", "must differ from the delimiter");
	if (isalnum((unsigned char)d->delimiter) || d->delimiter == ' ')
		return bad(c, "delimiter", "must not be a letter, a digit or a space");
	static const struct { const char *name, *canon; enum csv_encoding e; } encodings[] = {
		{"utf-8", "utf-8", CSV_UTF8}, {"utf8", "utf-8", CSV_UTF8},
		{"latin-1", "latin-1", CSV_LATIN1}, {"latin1", "latin-1", CSV_LATIN1},
		{"iso-8859-1", "latin-1", CSV_LATIN1}, {"windows-1252", "windows-1252", CSV_WIN1252},
		{"cp1252", "windows-1252", CSV_WIN1252}, {NULL, NULL, CSV_UTF8}};
	int k = 0;
	while (encodings[k].name && strcasecmp(enc, encodings[k].name) != 0)
		k++;
	if (!encodings[k].name)
		return bad(c, "encoding", "must be utf-8, latin-1 or windows-1252");
	d->encoding = encodings[k].e;
	if (strcmp(enc, encodings[k].canon) != 0)
		json_object_set_new(c->opts, "encoding", json_string(encodings[k].canon));
	if (datefmt) {
		if (!csv_date_format_valid(datefmt))
			return bad(c, "date_format", "must be made of DD, MM and YYYY with separators (/ - . or space), "
				   "e.g. \"DD/MM/YYYY\" or \"YYYYMMDD\"");
		snprintf(d->date_format, sizeof d->date_format, "%s", datefmt);
	}
	return 0;
}

static int check_auth(struct check *c, json_t *source, struct sftp_options *o)
{
	const char *conn = json_string_value(json_object_get(source, "connection_secret"));
	if (string_opt(c, "private_key_file", NULL, &o->private_key_file) ||
	    string_opt(c, "passphrase_secret", NULL, &o->passphrase_secret) ||
	    string_opt(c, "password_secret", NULL, &o->password_secret))
		return -1;
	if (o->private_key_file && (o->private_key_file[0] != '/' || strlen(o->private_key_file) > 1024 ||
				    !printable(o->private_key_file)))
		return bad(c, "private_key_file", "must be the absolute path of a private key file");
	if (o->passphrase_secret && secret_ref_problem(o->passphrase_secret))
		return bad(c, "passphrase_secret", "%s", secret_ref_problem(o->passphrase_secret));
	if (o->passphrase_secret && !o->private_key_file)
		return bad(c, "passphrase_secret", "is the passphrase of private_key_file, which is not set");
	if (o->password_secret && secret_ref_problem(o->password_secret))
		return bad(c, "password_secret", "%s", secret_ref_problem(o->password_secret));
	if (!o->password_secret)
		o->password_secret = conn;
	if (!o->private_key_file && !o->password_secret)
		return bad(c, "private_key_file", "an sftp source needs a private key (private_key_file) or a password "
			   "(password_secret or connection_secret)");
	return 0;
}

static int check_all(json_t *source, struct sftp_options *o, char *field, size_t fieldlen, char *msg,
		     size_t msglen)
{
	struct check c = {.field = field, .fieldlen = fieldlen, .msg = msg, .msglen = msglen};
	memset(o, 0, sizeof *o);
	json_t *opts = json_object_get(source, "options");
	if (!opts || json_is_null(opts)) {
		opts = json_object();
		json_object_set_new(source, "options", opts);
	}
	if (!json_is_object(opts))
		return bad(&c, NULL, "must be an object");
	c.opts = opts;

	const char *key;
	json_t *v;
	json_object_foreach(opts, key, v) {
		bool known = false;
		for (const char *const *n = option_names; *n && !known; n++)
			known = strcmp(key, *n) == 0;
		if (!known)
			return bad(&c, key, "is not an option of sftp sources%s",
				   strcmp(key, "path") == 0 ? " (the remote folder is \"directory\")" : "");
	}

	const char *known_host;
	char type[32], b64[1024];
	if (required(&c, "host", "the SFTP server's name or address", &o->host) ||
	    int_opt(&c, "port", 22, 1, 65535, &o->port) ||
	    required(&c, "user", "the login on the SFTP server", &o->user) ||
	    required(&c, "known_host", "the server's host key, e.g. \"ssh-ed25519 AAAA...\" (ssh-keyscan prints it)",
		     &known_host) ||
	    required(&c, "directory", "the remote directory, e.g. \"/saida/estoque\"", &o->directory) ||
	    string_opt(&c, "pattern", "*", &o->pattern))
		return -1;
	if (!host_valid(o->host))
		return bad(&c, "host", "must be a host name or an IP address");
	if (strlen(o->user) > 64 || !printable(o->user) || strchr(o->user, ':') || strchr(o->user, ' '))
		return bad(&c, "user", "must be a login name (no spaces or ':', at most 64 characters)");
	if (sftp_known_host_parse(known_host, type, sizeof type, b64, sizeof b64) != 0)
		return bad(&c, "known_host", "must be the server's public host key (\"ssh-ed25519 AAAA...\", as in "
			   "known_hosts or ssh-keyscan's output) or its fingerprint (\"SHA256:...\")");
	o->known_host = known_host;
	if ((o->directory[0] != '/' && strncmp(o->directory, "~/", 2) != 0 && strcmp(o->directory, "~") != 0) ||
	    strlen(o->directory) > 1024 || !printable(o->directory))
		return bad(&c, "directory", "must be an absolute path (\"/saida\") or one under the login's home (\"~/saida\")");
	if (!*o->pattern || strlen(o->pattern) > 255 || strchr(o->pattern, '/') || !printable(o->pattern))
		return bad(&c, "pattern", "must be a file-name pattern without '/', e.g. \"estoque_*.csv\"");
	if (check_auth(&c, source, o) || check_dialect(&c, &o->dialect))
		return -1;

	json_t *pct = json_object_get(opts, "max_reject_pct");
	if (!pct || json_is_null(pct)) {
		json_object_set_new(opts, "max_reject_pct", json_integer(10));
		pct = json_object_get(opts, "max_reject_pct");
	}
	if (!json_is_number(pct) || json_number_value(pct) < 0 || json_number_value(pct) > 100)
		return bad(&c, "max_reject_pct", "must be a number from 0 to 100");
	o->max_reject_pct = json_number_value(pct);
	if (int_opt(&c, "min_age_seconds", 0, 0, 7 * 86400, &o->min_age_seconds) ||
	    int_opt(&c, "max_retries", 3, 0, 20, &o->max_retries) ||
	    int_opt(&c, "timeout_seconds", 60, 1, 3600, &o->timeout_seconds) ||
	    bool_opt(&c, "stream", true, &o->stream))
		return -1;
	return 0;
}

int sftp_options_validate(json_t *source, char *field, size_t fieldlen, char *msg, size_t msglen)
{
	struct sftp_options o;
	return check_all(source, &o, field, fieldlen, msg, msglen);
}

int sftp_options_read(json_t *source, struct sftp_options *o, char *field, size_t fieldlen, char *msg,
		      size_t msglen)
{
	return check_all(source, o, field, fieldlen, msg, msglen);
}
