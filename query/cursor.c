/* Cursor encoding: jansson for the JSON, base64url from lib/. */
#include "query/cursor.h"
#include "lib/base64.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

char *query_cursor_encode(const char *signature, const char *const *values, size_t n)
{
	char *out = NULL, *text = NULL;
	json_t *keys = json_array();
	json_t *doc = json_pack("{s:s, s:o}", "h", signature, "k", keys);
	if (!doc)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *v = values[i] ? json_string(values[i]) : json_null();
		if (!v || json_array_append_new(keys, v) != 0)
			goto out;
	}
	if ((text = json_dumps(doc, JSON_COMPACT)))
		out = base64url_encode((const unsigned char *)text, strlen(text));
out:
	free(text);
	json_decref(doc);
	return out;
}

int query_cursor_decode(const char *cursor, const char *signature, size_t n, char ***values)
{
	size_t len;
	int rc = -1;
	char **v = NULL;
	unsigned char *raw = base64url_decode(cursor, &len);
	json_t *doc = raw ? json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *h = json_object_get(doc, "h"), *k = json_object_get(doc, "k");
	free(raw);
	if (!json_is_string(h) || !json_is_array(k))
		goto out;
	if (strcmp(json_string_value(h), signature) != 0 || json_array_size(k) != n) {
		rc = -2;
		goto out;
	}
	if (!(v = calloc(n ? n : 1, sizeof *v)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(k, i);
		if (json_is_null(e))
			continue;
		/* A value with a NUL byte could not have come from PostgreSQL. */
		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e) ||
		    !(v[i] = strdup(json_string_value(e))))
			goto out;
	}
	*values = v;
	v = NULL;
	rc = 0;
out:
	query_cursor_values_free(v, n);
	json_decref(doc);
	return rc;
}

void query_cursor_values_free(char **values, size_t n)
{
	if (!values)
		return;
	for (size_t i = 0; i < n; i++)
		free(values[i]);
	free(values);
}
