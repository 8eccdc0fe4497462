/* Value writers for the streamed responses. They run once per value of
 * every row streamed, so they copy runs of plain bytes at once. */
#include "query/format.h"

#include <stdlib.h>
#include <string.h>

void query_json_string(struct query_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	query_buf_putc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		query_buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': query_buf_append(b, "\\\"", 2); break;
		case '\\': query_buf_append(b, "\\\\", 2); break;
		case '\n': query_buf_append(b, "\\n", 2); break;
		case '\r': query_buf_append(b, "\\r", 2); break;
		case '\t': query_buf_append(b, "\\t", 2); break;
		default: {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			query_buf_append(b, esc, sizeof esc);
		}
		}
	}
	query_buf_append(b, s + run, n - run);
	query_buf_putc(b, '"');
}

/* PostgreSQL's special float/numeric values are not JSON numbers. */
static bool is_json_number(const char *s, size_t n)
{
	return n > 0 && (s[0] == '-' ? n > 1 && s[1] >= '0' && s[1] <= '9' : s[0] >= '0' && s[0] <= '9');
}

void query_json_value(struct query_buf *b, enum query_kind kind, const char *s, size_t n)
{
	if (!s) {
		query_buf_append(b, "null", 4);
		return;
	}
	switch (kind) {
	case QUERY_KIND_NUMBER:
		if (is_json_number(s, n))
			query_buf_append(b, s, n);
		else
			query_json_string(b, s, n);
		return;
	case QUERY_KIND_BOOL:
		if (n == 1 && (s[0] == 't' || s[0] == 'f'))
			query_buf_puts(b, s[0] == 't' ? "true" : "false");
		else
			query_json_string(b, s, n);
		return;
	case QUERY_KIND_JSON:
		query_buf_append(b, s, n);
		return;
	case QUERY_KIND_TEXT:
		break;
	}
	query_json_string(b, s, n);
}

void query_csv_field(struct query_buf *b, enum query_kind kind, const char *s, size_t n)
{
	if (!s)
		return;
	if (kind == QUERY_KIND_BOOL && n == 1 && (s[0] == 't' || s[0] == 'f')) {
		query_buf_puts(b, s[0] == 't' ? "true" : "false");
		return;
	}
	bool quote = n == 0 || s[0] == ' ' || s[n - 1] == ' ';
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		query_buf_append(b, s, n);
		return;
	}
	query_buf_putc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"')
			continue;
		query_buf_append(b, s + run, i + 1 - run); /* up to and with the quote */
		query_buf_putc(b, '"');
		run = i + 1;
	}
	query_buf_append(b, s + run, n - run);
	query_buf_putc(b, '"');
}

void query_url_encode(struct query_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-_.~,()*:", c)) {
			query_buf_putc(b, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			query_buf_append(b, esc, 3);
		}
	}
}

int query_row_format_init(struct query_row_format *f, enum query_format fmt, size_t ncols,
			  const char *const *names, const enum query_kind *kinds)
{
	struct query_buf b = {0};
	*f = (struct query_row_format){.fmt = fmt, .ncols = ncols};
	f->kinds = calloc(ncols ? ncols : 1, sizeof *f->kinds);
	f->keys = calloc(ncols ? ncols : 1, sizeof *f->keys);
	f->key_lens = calloc(ncols ? ncols : 1, sizeof *f->key_lens);
	if (!f->kinds || !f->keys || !f->key_lens)
		goto fail;
	for (size_t i = 0; i < ncols; i++) {
		f->kinds[i] = kinds[i];
		if (i)
			query_buf_putc(&b, ',');
		query_json_string(&b, names[i], strlen(names[i]));
		query_buf_putc(&b, ':');
		f->key_lens[i] = b.len;
		if (!(f->keys[i] = query_buf_take(&b)))
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

void query_format_row(struct query_buf *b, const struct query_row_format *f, bool first,
		      const char *const *values, const size_t *lens)
{
	if (f->fmt == QUERY_FORMAT_JSON) {
		query_buf_append(b, first ? "{" : ",{", first ? 1 : 2);
		for (size_t i = 0; i < f->ncols; i++) {
			query_buf_append(b, f->keys[i], f->key_lens[i]);
			query_json_value(b, f->kinds[i], values[i], lens[i]);
		}
		query_buf_putc(b, '}');
		return;
	}
	for (size_t i = 0; i < f->ncols; i++) {
		if (i)
			query_buf_putc(b, ',');
		query_csv_field(b, f->kinds[i], values[i], lens[i]);
	}
	query_buf_append(b, "\r\n", 2);
}

void query_format_csv_header(struct query_buf *b, size_t ncols, const char *const *names)
{
	for (size_t i = 0; i < ncols; i++) {
		if (i)
			query_buf_putc(b, ',');
		query_csv_field(b, QUERY_KIND_TEXT, names[i], strlen(names[i]));
	}
	query_buf_append(b, "\r\n", 2);
}
