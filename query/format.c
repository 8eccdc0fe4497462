/* Value writers for the streamed responses. They run once per value of
 * every row streamed, so they copy runs of plain bytes at once. */
#include "query/format.h"

#include <stdlib.h>
#include <string.h>

void query_json_string(struct dynbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	dynbuf_addc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		dynbuf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': dynbuf_add(b, "\\\"", 2); break;
		case '\\': dynbuf_add(b, "\\\\", 2); break;
		case '\n': dynbuf_add(b, "\\n", 2); break;
		case '\r': dynbuf_add(b, "\\r", 2); break;
		case '\t': dynbuf_add(b, "\\t", 2); break;
		default: {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			dynbuf_add(b, esc, sizeof esc);
		}
		}
	}
	dynbuf_add(b, s + run, n - run);
	dynbuf_addc(b, '"');
}

/* PostgreSQL's special float/numeric values are not JSON numbers. */
static bool is_json_number(const char *s, size_t n)
{
	return n > 0 && (s[0] == '-' ? n > 1 && s[1] >= '0' && s[1] <= '9' : s[0] >= '0' && s[0] <= '9');
}

void query_json_value(struct dynbuf *b, enum query_kind kind, const char *s, size_t n)
{
	if (!s) {
		dynbuf_add(b, "null", 4);
		return;
	}
	switch (kind) {
	case QUERY_KIND_NUMBER:
		if (is_json_number(s, n))
			dynbuf_add(b, s, n);
		else
			query_json_string(b, s, n);
		return;
	case QUERY_KIND_BOOL:
		if (n == 1 && (s[0] == 't' || s[0] == 'f'))
			dynbuf_addstr(b, s[0] == 't' ? "true" : "false");
		else
			query_json_string(b, s, n);
		return;
	case QUERY_KIND_JSON:
		dynbuf_add(b, s, n);
		return;
	case QUERY_KIND_TEXT:
		break;
	}
	query_json_string(b, s, n);
}

void query_csv_field(struct dynbuf *b, enum query_kind kind, const char *s, size_t n)
{
	if (!s)
		return;
	if (kind == QUERY_KIND_BOOL && n == 1 && (s[0] == 't' || s[0] == 'f')) {
		dynbuf_addstr(b, s[0] == 't' ? "true" : "false");
		return;
	}
	bool quote = n == 0 || s[0] == ' ' || s[n - 1] == ' ';
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		dynbuf_add(b, s, n);
		return;
	}
	dynbuf_addc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"')
			continue;
		dynbuf_add(b, s + run, i + 1 - run); /* up to and with the quote */
		dynbuf_addc(b, '"');
		run = i + 1;
	}
	dynbuf_add(b, s + run, n - run);
	dynbuf_addc(b, '"');
}

void query_url_encode(struct dynbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-_.~,()*:", c)) {
			dynbuf_addc(b, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			dynbuf_add(b, esc, 3);
		}
	}
}

int query_row_format_init(struct query_row_format *f, enum query_format fmt, size_t ncols,
			  const char *const *names, const enum query_kind *kinds)
{
	struct dynbuf b = {0};
	*f = (struct query_row_format){.fmt = fmt, .ncols = ncols};
	f->kinds = calloc(ncols ? ncols : 1, sizeof *f->kinds);
	f->keys = calloc(ncols ? ncols : 1, sizeof *f->keys);
	f->key_lens = calloc(ncols ? ncols : 1, sizeof *f->key_lens);
	if (!f->kinds || !f->keys || !f->key_lens)
		goto fail;
	for (size_t i = 0; i < ncols; i++) {
		f->kinds[i] = kinds[i];
		if (i)
			dynbuf_addc(&b, ',');
		query_json_string(&b, names[i], strlen(names[i]));
		dynbuf_addc(&b, ':');
		f->key_lens[i] = b.len;
		if (!(f->keys[i] = dynbuf_take(&b)))
			goto fail;
	}
	return 0;
fail:
	query_row_format_free(f);
	return -1;
}

void query_row_format_free(struct query_row_format *f)
{
	for (size_t i = 0; f->keys && i < f->ncols; i++)
		free(f->keys[i]);
	free(f->keys);
	free(f->key_lens);
	free(f->kinds);
	*f = (struct query_row_format){0};
}

void query_format_row(struct dynbuf *b, const struct query_row_format *f, bool first,
		      const char *const *values, const size_t *lens)
{
	if (f->fmt == QUERY_FORMAT_JSON) {
		dynbuf_add(b, first ? "{" : ",{", first ? 1 : 2);
		for (size_t i = 0; i < f->ncols; i++) {
			dynbuf_add(b, f->keys[i], f->key_lens[i]);
			query_json_value(b, f->kinds[i], values[i], lens[i]);
		}
		dynbuf_addc(b, '}');
		return;
	}
	for (size_t i = 0; i < f->ncols; i++) {
		if (i)
			dynbuf_addc(b, ',');
		query_csv_field(b, f->kinds[i], values[i], lens[i]);
	}
	dynbuf_add(b, "\r\n", 2);
}

void query_format_csv_header(struct dynbuf *b, size_t ncols, const char *const *names)
{
	for (size_t i = 0; i < ncols; i++) {
		if (i)
			dynbuf_addc(b, ',');
		query_csv_field(b, QUERY_KIND_TEXT, names[i], strlen(names[i]));
	}
	dynbuf_add(b, "\r\n", 2);
}
