/* Resolves secret references under the policy described in secret.h.
 * Error messages name the reference, never the value. */
#include "lib/secret.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SECRET_MAX (64 * 1024)
#define OWN_PREFIX "SHOPPERLAKE_"

static char policy_prefix[64] = SECRET_DEFAULT_PREFIX;
static char policy_dir[PATH_MAX] = SECRET_DEFAULT_DIR;

static bool env_name_valid(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

/* An absolute path without empty, `.` or `..` components, no trailing '/'. */
static bool path_plain(const char *p)
{
	if (p[0] != '/' || strlen(p) < 2 || p[strlen(p) - 1] == '/' || strchr(p, '\n'))
		return false;
	for (const char *c = p; c; c = strchr(c + 1, '/')) {
		const char *next = c + 1;
		size_t n = strcspn(next, "/");
		if (n == 0 || (n == 1 && next[0] == '.') || (n == 2 && next[0] == '.' && next[1] == '.'))
			return false;
	}
	return true;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1];
}

const char *secret_policy_problem(const char *env_prefix, const char *dir)
{
	if (env_prefix && (!*env_prefix || strlen(env_prefix) >= sizeof policy_prefix ||
			   !env_name_valid(env_prefix) || strncasecmp(env_prefix, "SHOPPERLAKE", 11) == 0))
		return "SHOPPERLAKE_SECRET_PREFIX must be a variable name prefix ([A-Za-z_][A-Za-z0-9_]*) "
		       "that does not start with SHOPPERLAKE";
	if (dir && (strlen(dir) >= sizeof policy_dir || !path_plain(dir) || strcmp(dir, "/etc") == 0 ||
		    strncmp(dir, "/proc", 5) == 0 || strncmp(dir, "/sys", 4) == 0 || strncmp(dir, "/dev", 4) == 0))
		return "SHOPPERLAKE_SECRETS_DIR must be an absolute directory path other than /, /etc, "
		       "and not under /proc, /sys or /dev";
	return NULL;
}

int secret_policy_set(const char *env_prefix, const char *dir, char *err, size_t errlen)
{
	const char *why = secret_policy_problem(env_prefix, dir);
	if (why) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (env_prefix)
		snprintf(policy_prefix, sizeof policy_prefix, "%s", env_prefix);
	if (dir)
		snprintf(policy_dir, sizeof policy_dir, "%s", dir);
	return 0;
}

const char *secret_ref_problem(const char *ref)
{
	static const char form[] = "must be a reference (env:NAME, file:/path or gcp-sm:projects/...), "
				   "never the secret itself";
	if (!ref || strlen(ref) > 1024)
		return form;
	if (strncmp(ref, "env:", 4) == 0) {
		if (!env_name_valid(ref + 4))
			return form;
		if (strncmp(ref + 4, OWN_PREFIX, strlen(OWN_PREFIX)) == 0 ||
		    strncmp(ref + 4, policy_prefix, strlen(policy_prefix)) != 0)
			return "env: may only name variables that start with the server's secret prefix "
			       "(SHOPPERLAKE_SECRET_PREFIX), never the server's own SHOPPERLAKE_* settings";
		return NULL;
	}
	if (strncmp(ref, "file:/", 6) == 0) {
		if (strlen(ref) <= 6 || strchr(ref, '\n'))
			return form;
		if (!path_plain(ref + 5) || !under(ref + 5, policy_dir))
			return "file: may only name a file inside the server's secrets directory "
			       "(SHOPPERLAKE_SECRETS_DIR), without . or .. components";
		return NULL;
	}
	if (strncmp(ref, "gcp-sm:projects/", 16) == 0 && strlen(ref) > 16)
		return NULL;
	return form;
}

bool secret_ref_valid(const char *ref)
{
	return secret_ref_problem(ref) == NULL;
}

/* Reads a file whose real path lies inside the secrets directory. */
static int read_file_secret(const char *ref, char **value, char *err, size_t errlen)
{
	char real[PATH_MAX], realdir[PATH_MAX];
	struct stat st;
	if (!realpath(ref + 5, real) || stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "secret %s cannot be read", ref);
		return -1;
	}
	if (!realpath(policy_dir, realdir) || !under(real, realdir)) {
		snprintf(err, errlen, "secret %s is not allowed: it resolves outside the secrets directory", ref);
		return -1;
	}
	FILE *f = fopen(real, "r");
	if (!f) {
		snprintf(err, errlen, "secret %s cannot be read", ref);
		return -1;
	}
	char *buf = malloc(SECRET_MAX + 1);
	size_t n = buf ? fread(buf, 1, SECRET_MAX, f) : 0;
	fclose(f);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	*value = buf;
	return 0;
}

int secret_resolve(const char *ref, char **value, char *err, size_t errlen)
{
	*value = NULL;
	const char *why = secret_ref_problem(ref);
	if (why) {
		/* the reference is not quoted: a malformed one may be the secret itself */
		snprintf(err, errlen, "the secret reference is not allowed: %s", why);
		return -1;
	}
	if (strncmp(ref, "env:", 4) == 0) {
		const char *v = getenv(ref + 4);
		if (!v) {
			snprintf(err, errlen, "secret %s is not set", ref);
			return -1;
		}
		*value = strdup(v);
		return *value ? 0 : -1;
	}
	if (strncmp(ref, "gcp-sm:", 7) == 0) {
		snprintf(err, errlen, "secret %s: gcp-sm references are not supported by this build", ref);
		return -1;
	}
	return read_file_secret(ref, value, err, errlen);
}
