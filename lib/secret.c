/* Resolves secret references. Error messages name the reference, never the value. */
#include "lib/secret.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX (64 * 1024)

static bool env_name_valid(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

bool secret_ref_valid(const char *ref)
{
	if (!ref || strlen(ref) > 1024)
		return false;
	if (strncmp(ref, "env:", 4) == 0)
		return env_name_valid(ref + 4);
	if (strncmp(ref, "file:/", 6) == 0)
		return strlen(ref) > 6 && !strchr(ref, '\n');
	if (strncmp(ref, "gcp-sm:projects/", 16) == 0)
		return strlen(ref) > 16;
	return false;
}

int secret_resolve(const char *ref, char **value, char *err, size_t errlen)
{
	*value = NULL;
	if (!secret_ref_valid(ref)) {
		snprintf(err, errlen, "unsupported secret reference");
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
	FILE *f = fopen(ref + 5, "r");
	if (!f) {
		snprintf(err, errlen, "secret %s cannot be read", ref);
		return -1;
	}
	char *buf = malloc(SECRET_MAX + 1);
	size_t n = buf ? fread(buf, 1, SECRET_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return -1;
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	*value = buf;
	return 0;
}
