/* CSV -> COPY text, streaming (see csv_copy.h for the contract).
 *
 * How a chunk travels: transcoded to UTF-8 if needed (iconv), cut into
 * physical lines, each line appended to the raw text of the current record
 * and handed to libcsv. libcsv calls on_field for every field and on_row at
 * the end of a record; on_row turns the record into a COPY row (or a
 * reject) at once. Feeding libcsv line by line is what lets us know the
 * line a record starts on and its raw text without a second parser: a
 * record is over when libcsv reports a row, and between records libcsv's
 * state is back to "row not begun".
 *
 * Most lines need none of that: a whole line that starts a record, whose
 * quoted fields (if any) close on it, is split here by libcsv's rules
 * (blanks around an unquoted field dropped, an empty unquoted field NULL, a
 * doubled quote one quote, a line of blanks no record), its fields left in
 * the chunk unless a doubled quote must go. Anything else (a quote inside an
 * unquoted field, text after a closing quote, a field going on past the
 * line) is left to libcsv, which also says why it is wrong. libcsv's call
 * per field and copy per byte were half the cost of a file. Each row is
 * then written into the output batch in one go, room made once. */
#include "jobs/sources/sftp/csv_copy.h"
#include "jobs/sources/sftp/csv_values.h"
#include "lib/dynbuf.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_BATCH (32 * 1024) /* smaller messages let the server start sooner */
#define MAX_FIELDS 4096
#define PSTATE_ROW_NOT_BEGUN 0 /* libcsv's parser state between records */
#define PSTATE_FIELD_BEGUN 2

struct field {
	const char *ptr;            /* the bytes in the chunk (a line split here), */
	size_t off, len;            /* or at off in fdata (libcsv's, copied) */
	bool null;
};

struct csv_copy {
	struct csv_parser parser;
	bool parser_ready;
	struct csv_dialect d;
	struct csv_column *cols;
	size_t ncols;
	char *file_copy;            /* the file name, COPY-escaped */
	size_t file_len;
	long long version_base;
	struct csv_sink sink;
	iconv_t cd;                 /* (iconv_t)-1 for UTF-8 input */

	unsigned char bom[3];       /* the first bytes, until we know they are no BOM */
	size_t bom_len;
	bool bom_done;

	struct dynbuf utf8;            /* a transcoded chunk */
	struct dynbuf raw;             /* raw text of the current record */
	const char *line;           /* or the line split here, in the chunk */
	size_t line_len;
	long long rec_line;         /* the line it starts on */
	bool row_ended;
	bool skip_line;             /* dropping the rest of an over-long line */
	const char *bad_reason;     /* a parse error: the rest of its line joins the reject */

	struct dynbuf fdata;           /* the current record's fields */
	struct field *fields;
	size_t nfields, fields_cap, nfields_seen;

	bool header_pending;
	size_t *map;                /* column i is field map[i] */
	size_t expected;            /* fields per record */

	unsigned char date_prog[64];/* the compiled date_format */
	struct dynbuf out;             /* a batch of COPY rows */
	struct dynbuf rej;             /* one reject row */
	struct dynbuf val;             /* a rewritten value */

	bool failed, sink_failed;
	char error[512];
	struct csv_copy_stats stats;
};

static void fail(struct csv_copy *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct csv_copy *c, const char *fmt, ...)
{
	if (c->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof c->error, fmt, ap);
	va_end(ap);
	c->failed = true;
}

/* --- header names ---------------------------------------------------- */

/* Lower case, accents off (the Latin-1 letters of UTF-8), blanks, '-' and
 * '.' as '_': "Código Produto" and "codigo_produto" are the same name. */
static void normalise_name(const char *s, size_t n, char *out, size_t outlen)
{
	static const char *const c3 = /* U+00C0 .. U+00FF, base letters */
		"AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == 0xC3 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0xBF) {
			ch = (unsigned char)c3[(unsigned char)s[++i] - 0x80];
		}
		if (ch == ' ' || ch == '-' || ch == '.' || ch == '\t')
			ch = '_';
		else if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		out[o++] = (char)ch;
	}
	out[o] = 0;
}

/* A field's bytes; fdata has no buffer yet when every field so far was empty. */
static const char *field_text(const struct csv_copy *c, const struct field *f)
{
	if (f->ptr)
		return f->ptr;
	return c->fdata.data ? c->fdata.data + f->off : "";
}

static void take_header(struct csv_copy *c)
{
	char want[256], have[256];
	for (size_t i = 0; i < c->ncols; i++) {
		normalise_name(c->cols[i].name, strlen(c->cols[i].name), want, sizeof want);
		size_t found = SIZE_MAX;
		for (size_t j = 0; j < c->nfields; j++) {
			struct field *f = &c->fields[j];
			if (f->null)
				continue;
			normalise_name(field_text(c, f), f->len, have, sizeof have);
			if (strcmp(want, have) != 0)
				continue;
			if (found != SIZE_MAX) {
				fail(c, "the header names column %s twice (fields %zu and %zu)", c->cols[i].name, found + 1,
				     j + 1);
				return;
			}
			found = j;
		}
		if (found == SIZE_MAX) {
			char names[200] = "";
			for (size_t j = 0; j < c->nfields && strlen(names) < 150; j++)
				snprintf(names + strlen(names), sizeof names - strlen(names), "%s%.*s", j ? ", " : "",
					 (int)(c->fields[j].len > 40 ? 40 : c->fields[j].len), field_text(c, &c->fields[j]));
			fail(c, "the header has no column %s (it has: %s)", c->cols[i].name, names);
			return;
		}
		c->map[i] = found;
	}
	c->expected = c->nfields_seen;
}

/* --- records --------------------------------------------------------- */

static void clear_record(struct csv_copy *c)
{
	c->fdata.len = 0;
	c->nfields = c->nfields_seen = 0;
}

static void flush_rows(struct csv_copy *c)
{
	if (c->out.len == 0 || c->failed)
		return;
	if (c->sink.rows(c->sink.ctx, c->out.data, c->out.len) != 0) {
		c->sink_failed = true;
		fail(c, "the lake refused the rows");
	}
	c->out.len = 0;
}

/* Sends the current record's raw text to the rejects with a reason. */
static void reject(struct csv_copy *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reject(struct csv_copy *c, const char *fmt, ...)
{
	char reason[300], num[24];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);

	const char *raw = c->line ? c->line : c->raw.data ? c->raw.data : "";
	size_t n = c->line ? c->line_len : c->raw.len;
	while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
		n--;
	bool cut = n > CSV_MAX_RAW;
	c->rej.len = 0;
	snprintf(num, sizeof num, "\t%lld\t", c->rec_line);
	bool ok = dynbuf_add(&c->rej, c->file_copy, strlen(c->file_copy)) && dynbuf_add(&c->rej, num, strlen(num)) &&
		  csv_add_copy_text(&c->rej, raw, cut ? CSV_MAX_RAW : n, true) == -1;
	if (ok && cut) {
		char more[64];
		snprintf(more, sizeof more, " [... %zu bytes in all]", n);
		ok = dynbuf_add(&c->rej, more, strlen(more));
	}
	ok = ok && dynbuf_add(&c->rej, "\t", 1) && csv_add_copy_text(&c->rej, reason, strlen(reason), true) == -1 &&
	     dynbuf_add(&c->rej, "\n", 1);
	if (!ok) {
		fail(c, "out of memory");
		return;
	}
	c->stats.rejects++;
	if (!c->stats.first_reject[0])
		snprintf(c->stats.first_reject, sizeof c->stats.first_reject, "line %lld: %.200s", c->rec_line, reason);
	if (c->sink.reject(c->sink.ctx, c->rej.data, c->rej.len) != 0) {
		c->sink_failed = true;
		fail(c, "the lake refused a reject");
	}
}

static const char *encoding_problem(const struct csv_copy *c)
{
	return c->d.encoding == CSV_WIN1252 ? "is not a Windows-1252 character" : "is not valid UTF-8";
}

/* Writes the value of column i of the current record at o (room made by
 * finish_record); returns the end of it, or NULL when the record was
 * rejected (the reason given to reject()). */
static char *put_value(struct csv_copy *c, size_t i, char *o)
{
	const struct field *f = &c->fields[c->map[i]];
	const char *s = field_text(c, f);
	size_t n = f->len;
	enum csv_kind kind = c->cols[i].kind;

	if (f->null || (n == 0 && kind != CSV_TEXT)) {
		memcpy(o, "\\N", 2);
		return o + 2;
	}
	if (kind == CSV_NUMBER && c->d.decimal_comma) {
		size_t k = csv_put_decimal_comma(o, s, n); /* digits, sign and point: nothing to escape */
		if (k > 0)
			return o + k;
	} else if (kind == CSV_DATE && c->d.date_format[0] && csv_rewrite_date(&c->val, c->date_prog, s, n)) {
		s = c->val.data, n = c->val.len;
	}
	long bad;
	o += csv_put_copy_text(o, s, n, &bad);
	if (bad >= 0) {
		unsigned char b = (unsigned char)s[bad];
		if (b == 0)
			reject(c, "NUL byte in column %s", c->cols[i].name);
		else
			reject(c, "byte 0x%02X %s (column %s, byte %ld of the value)", b, encoding_problem(c),
			       c->cols[i].name, bad + 1);
		return NULL;
	}
	return o;
}

/* Writes v in decimal (v >= 0); returns the length. snprintf costs more
 * than the rest of a row's tail. */
static size_t put_ll(char *out, long long v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static void finish_record(struct csv_copy *c)
{
	if (c->failed)
		return;
	if (c->header_pending) {
		c->header_pending = false;
		take_header(c);
		clear_record(c);
		return;
	}
	if (c->rec_line >= CSV_MAX_LINES) {
		fail(c, "more than %lld lines", CSV_MAX_LINES);
		return;
	}
	if (c->nfields_seen != c->expected) {
		reject(c, "expected %zu fields, found %zu", c->expected, c->nfields_seen);
		clear_record(c);
		return;
	}
	/* room for the whole row: escapes at most double a value, a date
	 * rewritten grows by 2 bytes; then the tail */
	size_t need = c->file_len + 64;
	for (size_t i = 0; i < c->ncols; i++)
		need += 2 * c->fields[c->map[i]].len + 8;
	if (!dynbuf_reserve(&c->out, need)) {
		fail(c, "out of memory");
		return;
	}
	char *o = c->out.data + c->out.len;
	for (size_t i = 0; i < c->ncols; i++) {
		if (!(o = put_value(c, i, o))) {
			clear_record(c); /* rejected: out.len did not move */
			return;
		}
		*o++ = '\t';
	}
	/* version \t U \t file \t line \n */
	o += put_ll(o, c->version_base + c->rec_line);
	memcpy(o, "\tU\t", 3);
	o += 3;
	memcpy(o, c->file_copy, c->file_len);
	o += c->file_len;
	*o++ = '\t';
	o += put_ll(o, c->rec_line);
	*o++ = '\n';
	c->out.len = (size_t)(o - c->out.data);
	c->stats.rows++;
	clear_record(c);
	if (c->out.len >= OUT_BATCH)
		flush_rows(c);
}

/* --- libcsv callbacks ------------------------------------------------ */

static struct field *add_field(struct csv_copy *c, const char *s, size_t len, bool null, bool copy);

static void on_field(void *s, size_t len, void *arg)
{
	/* libcsv reuses its buffer: the field is copied */
	add_field(arg, s, len, s == NULL, true);
}

static void on_row(int term, void *arg)
{
	struct csv_copy *c = arg;
	(void)term;
	c->row_ended = true;
	finish_record(c);
}

/* Adds a field to the current record: left where it is, or copied into
 * fdata. Returns it, or NULL when it is not kept (too many fields, no memory). */
static struct field *add_field(struct csv_copy *c, const char *s, size_t len, bool null, bool copy)
{
	if (c->nfields_seen++ >= MAX_FIELDS)
		return NULL; /* counted, not kept: the record is rejected anyway */
	if (c->nfields == c->fields_cap) {
		size_t cap = c->fields_cap ? c->fields_cap * 2 : 32;
		struct field *grown = realloc(c->fields, cap * sizeof *grown);
		if (!grown) {
			fail(c, "out of memory");
			return NULL;
		}
		c->fields = grown;
		c->fields_cap = cap;
	}
	struct field *f = &c->fields[c->nfields++];
	f->ptr = copy ? NULL : s;
	f->off = c->fdata.len;
	f->len = null ? 0 : len;
	f->null = null;
	if (copy && !null && !dynbuf_add(&c->fdata, s, len)) {
		fail(c, "out of memory");
		return NULL;
	}
	return f;
}

static int init_parser(struct csv_copy *c)
{
	if (c->parser_ready)
		csv_free(&c->parser);
	c->parser_ready = false;
	if (csv_init(&c->parser, CSV_STRICT | CSV_EMPTY_IS_NULL) != 0)
		return -1;
	csv_set_delim(&c->parser, (unsigned char)c->d.delimiter);
	csv_set_quote(&c->parser, (unsigned char)c->d.quote);
	/* libcsv's own blanks (space and tab, never the delimiter) are checked
	 * inline; a space function would be a call per byte */
	c->parser_ready = true;
	return 0;
}

/* --- feeding --------------------------------------------------------- */

/* A blank around an unquoted field, for libcsv: space or tab, unless it is
 * the delimiter. */
static bool is_blank(const struct csv_copy *c, char ch)
{
	return (ch == ' ' || ch == '\t') && ch != c->d.delimiter;
}

/* A quoted field that opens at s (the quote) and closes before end: its
 * text (a doubled quote is one quote) added to the record. Returns the end
 * of the field (after its closing quote), or NULL when it does not close on
 * this line (libcsv must take the line). */
static const char *take_quoted(struct csv_copy *c, const char *s, const char *end)
{
	const char q = c->d.quote;
	const char *from = s + 1, *close = memchr(from, q, (size_t)(end - from));
	if (close && (close + 1 == end || close[1] != q)) {
		add_field(c, from, (size_t)(close - from), false, false); /* no doubled quote: left in place */
		return close + 1;
	}
	struct field *f = add_field(c, from, 0, false, true);
	for (;;) {
		if (!close)
			return NULL;
		bool doubled = close + 1 < end && close[1] == q;
		size_t n = (size_t)(close - from) + doubled; /* a doubled quote keeps one */
		if (f) {
			if (!dynbuf_add(&c->fdata, from, n))
				fail(c, "out of memory");
			f->len += n;
		}
		if (!doubled)
			return close + 1;
		from = close + 2;
		close = memchr(from, q, (size_t)(end - from));
	}
}

/* A whole line (up to its LF or CR, at p + seg - 1) that starts a record:
 * split into fields here as libcsv would, and the record made. false (and
 * nothing done) when libcsv must take it: a quoted field going on past the
 * line, or quoting that libcsv rejects. */
static bool take_line(struct csv_copy *c, const char *p, size_t seg)
{
	const char *s = p, *end = p + seg - 1;
	const char q = c->d.quote;
	const char *quote = memchr(p, q, seg - 1); /* the next quote character */
	for (;;) {
		while (s < end && is_blank(c, *s))
			s++;
		const char *d;
		if (s == quote) {
			if (!(s = take_quoted(c, s, end)))
				goto libcsv;
			while (s < end && is_blank(c, *s))
				s++;
			if (s < end && *s != c->d.delimiter)
				goto libcsv; /* text after a closing quote */
			d = s < end ? s : NULL;
			quote = s < end ? memchr(s, q, (size_t)(end - s)) : NULL;
		} else {
			d = memchr(s, c->d.delimiter, (size_t)(end - s));
			const char *b = d ? d : end;
			if (quote && quote < b)
				goto libcsv; /* a quote inside an unquoted field */
			while (b > s && is_blank(c, b[-1]))
				b--;
			add_field(c, s, (size_t)(b - s), b == s, false);
		}
		if (!d)
			break;
		s = d + 1;
	}
	if (c->nfields_seen == 1 && c->fields[0].null) {
		clear_record(c); /* a line of blanks is no record */
		return true;
	}
	c->line = p;
	c->line_len = seg;
	finish_record(c);
	c->line = NULL;
	return true;
libcsv:
	clear_record(c);
	return false;
}

/* Rejects the record whose parse failed, with its text up to the end of the
 * line the error was on, and starts afresh on the next line. */
static void reject_bad_line(struct csv_copy *c)
{
	reject(c, "%s", c->bad_reason);
	c->bad_reason = NULL;
	clear_record(c);
	c->raw.len = 0;
	if (init_parser(c) != 0)
		fail(c, "out of memory");
}

/* Parses UTF-8 bytes, one line (up to LF or CR) at a time. */
static void parse_utf8(struct csv_copy *c, const char *p, size_t len)
{
	while (len > 0 && !c->failed) {
		/* a segment ends at LF or CR (libcsv ends records at either), so a
		 * record's raw text never depends on where the chunks were cut */
		const char *lf = memchr(p, '\n', len), *cr = memchr(p, '\r', lf ? (size_t)(lf - p) : len);
		const char *end = cr ? cr : lf;
		size_t seg = end ? (size_t)(end - p) + 1 : len;
		bool nl = end == lf && lf; /* a new physical line follows */
		if (c->bad_reason) {
			/* the rest of a line with a parse error: not parsed, but in the reject
			 * whatever the chunk boundaries */
			size_t keep = CSV_MAX_RECORD - c->raw.len < seg ? CSV_MAX_RECORD - c->raw.len : seg;
			if (!dynbuf_add(&c->raw, p, keep)) {
				fail(c, "out of memory");
				return;
			}
			if (end)
				reject_bad_line(c);
			c->stats.lines += nl;
			p += seg;
			len -= seg;
			continue;
		}
		if (c->skip_line) {
			/* the rest of a line whose record was too long */
			c->skip_line = end == NULL;
			c->stats.lines += nl;
			p += seg;
			len -= seg;
			continue;
		}
		if (c->raw.len == 0)
			c->rec_line = c->stats.lines + 1;
		if (c->raw.len + seg > CSV_MAX_RECORD) {
			/* keep what fits for the reject; the rest of the record is dropped with it */
			if (!dynbuf_add(&c->raw, p, CSV_MAX_RECORD - c->raw.len)) {
				fail(c, "out of memory");
				return;
			}
			reject(c, "record longer than %d bytes (a quote never closed?)", CSV_MAX_RECORD);
			clear_record(c);
			c->raw.len = 0;
			c->skip_line = end == NULL;
			if (init_parser(c) != 0)
				fail(c, "out of memory");
		} else if (end && c->raw.len == 0 && c->parser.pstate == PSTATE_ROW_NOT_BEGUN && take_line(c, p, seg)) {
			if (c->failed)
				return; /* (the line is not counted, as below) */
		} else {
			if (!dynbuf_add(&c->raw, p, seg)) {
				fail(c, "out of memory");
				return;
			}
			c->row_ended = false;
			size_t done = csv_parse(&c->parser, p, seg, on_field, on_row, c);
			if (c->failed)
				return;
			if (done < seg) {
				int e = csv_error(&c->parser);
				c->bad_reason = e == CSV_EPARSE ? "malformed quoting (a quote inside an unquoted field, "
								  "or text after a closing quote)" : csv_strerror(e);
				if (end)
					reject_bad_line(c);
			} else if (end && (c->row_ended || c->parser.pstate == PSTATE_ROW_NOT_BEGUN)) {
				c->raw.len = 0; /* (blanks before a chunk boundary stay: the record may start after them) */
			}
		}
		if (nl)
			c->stats.lines++;
		p += seg;
		len -= seg;
	}
}

static void transcode_and_parse(struct csv_copy *c, const char *p, size_t len)
{
	if (c->cd == (iconv_t)-1) {
		parse_utf8(c, p, len);
		return;
	}
	c->utf8.len = 0;
	if (!dynbuf_reserve(&c->utf8, len * 3 + 16)) {
		fail(c, "out of memory");
		return;
	}
	char *in = (char *)p;
	size_t inleft = len;
	while (inleft > 0) {
		char *out = c->utf8.data + c->utf8.len;
		size_t outleft = c->utf8.cap - c->utf8.len;
		size_t r = iconv(c->cd, &in, &inleft, &out, &outleft);
		c->utf8.len = (size_t)(out - c->utf8.data);
		if (r != (size_t)-1)
			break;
		if (errno == EILSEQ || errno == EINVAL) {
			/* a byte the encoding lacks: kept as is, so the record fails UTF-8 checks */
			if (!dynbuf_add(&c->utf8, in, 1)) {
				fail(c, "out of memory");
				return;
			}
			in++, inleft--;
		} else if (errno == E2BIG) {
			if (!dynbuf_reserve(&c->utf8, inleft * 3 + 16)) {
				fail(c, "out of memory");
				return;
			}
		} else {
			fail(c, "iconv: %s", strerror(errno));
			return;
		}
	}
	parse_utf8(c, c->utf8.data, c->utf8.len);
}

int csv_copy_feed(struct csv_copy *c, const void *data, size_t len)
{
	const char *p = data;
	if (c->failed)
		return -1;
	if (!c->bom_done) {
		while (c->bom_len < 3 && len > 0) {
			c->bom[c->bom_len++] = (unsigned char)*p++;
			len--;
		}
		if (c->bom_len < 3)
			return 0;
		c->bom_done = true;
		if (c->d.encoding != CSV_UTF8 || memcmp(c->bom, "\xEF\xBB\xBF", 3) != 0)
			transcode_and_parse(c, (const char *)c->bom, 3);
	}
	if (len > 0)
		transcode_and_parse(c, p, len);
	return c->failed ? -1 : 0;
}

int csv_copy_finish(struct csv_copy *c)
{
	if (!c->bom_done) {
		c->bom_done = true;
		if (c->bom_len > 0)
			transcode_and_parse(c, (const char *)c->bom, c->bom_len);
	}
	if (c->failed)
		return -1;
	if (c->bad_reason) {
		reject_bad_line(c);
	} else if (c->parser.pstate == PSTATE_FIELD_BEGUN && c->parser.quoted) {
		reject(c, "a quoted field is not closed before the end of the file");
		clear_record(c);
	} else {
		c->row_ended = false;
		csv_fini(&c->parser, on_field, on_row, c);
	}
	c->raw.len = 0;
	flush_rows(c);
	return c->failed ? -1 : 0;
}

/* --- life cycle ------------------------------------------------------ */

static char *copy_escaped(const char *s)
{
	struct dynbuf b = {0};
	if (csv_add_copy_text(&b, s, strlen(s), true) != -1 || !dynbuf_add(&b, "", 1)) {
		dynbuf_free(&b);
		return NULL;
	}
	return b.data;
}

struct csv_copy *csv_copy_new(const struct csv_dialect *d, const struct csv_column *cols, size_t ncols,
			      const char *file, long long version_base, const struct csv_sink *sink,
			      char *err, size_t errlen)
{
	if (ncols == 0 || ncols > MAX_FIELDS || !d->delimiter || !d->quote || d->delimiter == d->quote ||
	    d->delimiter == '\n' || d->delimiter == '\r' || d->quote == '\n' || d->quote == '\r' ||
	    (d->date_format[0] && !csv_date_format_valid(d->date_format))) {
		snprintf(err, errlen, "invalid CSV dialect");
		return NULL;
	}
	struct csv_copy *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->d = *d;
	c->cd = (iconv_t)-1;
	c->sink = *sink;
	c->version_base = version_base;
	c->ncols = ncols;
	c->header_pending = d->header;
	c->expected = ncols;
	c->cols = calloc(ncols, sizeof *c->cols);
	c->map = calloc(ncols, sizeof *c->map);
	c->file_copy = copy_escaped(file);
	if (!c->cols || !c->map || !c->file_copy)
		goto nomem;
	c->file_len = strlen(c->file_copy);
	csv_compile_date_format(d->date_format, c->date_prog, sizeof c->date_prog);
	for (size_t i = 0; i < ncols; i++) {
		c->cols[i].kind = cols[i].kind;
		if (!(c->cols[i].name = strdup(cols[i].name)))
			goto nomem;
		c->map[i] = i;
	}
	if (d->encoding != CSV_UTF8) {
		c->cd = iconv_open("UTF-8", d->encoding == CSV_LATIN1 ? "ISO-8859-1" : "WINDOWS-1252");
		if (c->cd == (iconv_t)-1) {
			snprintf(err, errlen, "iconv: %s", strerror(errno));
			csv_copy_free(c);
			return NULL;
		}
	}
	if (init_parser(c) != 0)
		goto nomem;
	return c;
nomem:
	snprintf(err, errlen, "out of memory");
	csv_copy_free(c);
	return NULL;
}

const struct csv_copy_stats *csv_copy_stats(const struct csv_copy *c)
{
	return &c->stats;
}

const char *csv_copy_error(const struct csv_copy *c)
{
	return c->failed ? c->error : "";
}

bool csv_copy_sink_failed(const struct csv_copy *c)
{
	return c->sink_failed;
}

void csv_copy_free(struct csv_copy *c)
{
	if (!c)
		return;
	if (c->parser_ready)
		csv_free(&c->parser);
	if (c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	for (size_t i = 0; c->cols && i < c->ncols; i++)
		free((char *)c->cols[i].name);
	free(c->cols);
	free(c->map);
	free(c->file_copy);
	free(c->fields);
	dynbuf_free(&c->utf8);
	dynbuf_free(&c->raw);
	dynbuf_free(&c->fdata);
	dynbuf_free(&c->out);
	dynbuf_free(&c->rej);
	dynbuf_free(&c->val);
	free(c);
}

enum csv_kind csv_kind_of_type(const char *type)
{
	static const char *const numbers[] = {"smallint", "integer", "int", "bigint", "real", "double precision",
					      "float", "numeric", "decimal", NULL};
	static const char *const dates[] = {"date", "timestamp", "timestamptz", NULL};
	size_t n = strcspn(type, "(");
	while (n > 0 && type[n - 1] == ' ')
		n--;
	for (const char *const *t = numbers; *t; t++)
		if (strlen(*t) == n && strncmp(type, *t, n) == 0)
			return CSV_NUMBER;
	for (const char *const *t = dates; *t; t++)
		if (strlen(*t) == n && strncmp(type, *t, n) == 0)
			return CSV_DATE;
	return CSV_TEXT;
}
