/* Fuzz target: the CSV -> COPY converter of sftp sources (jobs/csv_copy.c)
 * on arbitrary bytes, with a fake COPY sink that keeps what it is given.
 *
 * Input: four dialect bytes, then the file.
 *   byte 0: delimiter (, ; TAB | :) and quote (" or ')
 *   byte 1: header, encoding (UTF-8, Latin-1, Windows-1252), decimal comma
 *   byte 2: date format ("" or one of five)
 *   byte 3: declared columns (1..5, the supplier price file's) and the
 *           chunk size of the second run
 * The file is converted three times: in one piece, in small chunks, and a
 * byte at a time (which leaves every line to libcsv: the converter splits
 * only whole lines itself, so this run is the reference for its own
 * splitting). Besides the sanitizers, it checks:
 *  - the three runs give the same rows, rejects, counts and error;
 *  - without a header the file never fails as a whole: every problem is a
 *    reject;
 *  - every row is one COPY text line of the declared columns plus version,
 *    U, file and line (version = base + line), valid UTF-8, no NUL or raw
 *    CR; every reject is one line: file, line, raw text, a reason;
 *  - the counters match what the sink received;
 *  - every line a record starts on holds something (not only blanks), and
 *    when the file has no quote character every such line (the header
 *    aside) is either converted or rejected with a reason: nothing is
 *    dropped silently.
 * A violated invariant aborts, which libFuzzer reports as a crash. */
#include "tests/fuzz/fuzz.h"
#include "jobs/sources/sftp/csv_copy.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_BASE 1000000000000LL
#define FILE_NAME "precos_fornecedor_2024-12-01.csv"

static const struct csv_column columns[] = {
	{"produto_id", CSV_NUMBER}, {"sku", CSV_TEXT}, {"preco_custo", CSV_NUMBER},
	{"vigencia_inicio", CSV_DATE}, {"Descrição Fornecedor", CSV_TEXT},
};

struct bytes {
	char *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		char *grown = realloc(b->p, cap);
		CHECK(grown != NULL);
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

struct sink_out {
	struct bytes rows, rejects;
	long long reject_calls;
};

static int on_rows(void *ctx, const char *data, size_t len)
{
	struct sink_out *o = ctx;
	CHECK(len > 0 && data[len - 1] == '\n');
	bytes_add(&o->rows, data, len);
	return 0;
}

static int on_reject(void *ctx, const char *row, size_t len)
{
	struct sink_out *o = ctx;
	CHECK(len > 0 && row[len - 1] == '\n' && memchr(row, '\n', len) == row + len - 1);
	bytes_add(&o->rejects, row, len);
	o->reject_calls++;
	return 0;
}

struct run {
	struct sink_out out;
	int rc;
	struct csv_copy_stats stats;
	char error[600];
};

static void convert(const struct csv_dialect *d, size_t ncols, const uint8_t *data, size_t size, size_t chunk,
		    struct run *r)
{
	char err[256] = "";
	struct csv_sink sink = {on_rows, on_reject, &r->out};
	struct csv_copy *c = csv_copy_new(d, columns, ncols, FILE_NAME, VERSION_BASE, &sink, err, sizeof err);
	CHECK(c != NULL); /* every dialect made here is a valid one */
	r->rc = 0;
	for (size_t off = 0; off < size && r->rc == 0; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		r->rc = csv_copy_feed(c, data + off, n);
	}
	if (r->rc == 0)
		r->rc = csv_copy_finish(c);
	r->stats = *csv_copy_stats(c);
	snprintf(r->error, sizeof r->error, "%s", csv_copy_error(c));
	CHECK(!csv_copy_sink_failed(c));
	csv_copy_free(c);
}

static bool valid_text(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n); /* NULL unless UTF-8 */
	json_decref(j);
	return j && !memchr(s, 0, n) && !memchr(s, '\r', n);
}

/* Splits one line at tabs; returns the field count, fills up to max starts. */
static size_t split_tabs(const char *s, size_t n, const char **starts, size_t *lens, size_t max)
{
	size_t k = 0, begin = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '\t') {
			if (k < max) {
				starts[k] = s + begin;
				lens[k] = i - begin;
			}
			k++;
			begin = i + 1;
		}
	}
	return k;
}

static long long number(const char *s, size_t n)
{
	char buf[32];
	CHECK(n > 0 && n < sizeof buf);
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	long long v = strtoll(buf, &end, 10);
	CHECK(*end == 0 && v >= 0);
	return v;
}

/* Marks the start line of every record in `covered` (lines 1..nlines). */
static void check_output(const struct run *r, size_t ncols, bool *covered, long long nlines)
{
	const char *f[16];
	size_t fl[16];
	long long rows = 0, rejects = 0;
	const struct bytes *b = &r->out.rows;
	for (size_t pos = 0; pos < b->len;) {
		const char *nl = memchr(b->p + pos, '\n', b->len - pos);
		CHECK(nl != NULL);
		size_t n = (size_t)(nl - (b->p + pos));
		CHECK(valid_text(b->p + pos, n));
		CHECK(split_tabs(b->p + pos, n, f, fl, 16) == ncols + 4);
		long long line = number(f[ncols + 3], fl[ncols + 3]);
		CHECK(number(f[ncols], fl[ncols]) == VERSION_BASE + line);
		CHECK(fl[ncols + 1] == 1 && f[ncols + 1][0] == 'U');
		CHECK(fl[ncols + 2] == strlen(FILE_NAME) && memcmp(f[ncols + 2], FILE_NAME, fl[ncols + 2]) == 0);
		CHECK(line >= 1 && line <= nlines);
		covered[line] = true;
		rows++;
		pos += n + 1;
	}
	b = &r->out.rejects;
	for (size_t pos = 0; pos < b->len;) {
		const char *nl = memchr(b->p + pos, '\n', b->len - pos);
		size_t n = (size_t)(nl - (b->p + pos));
		CHECK(valid_text(b->p + pos, n));
		CHECK(split_tabs(b->p + pos, n, f, fl, 16) == 4);
		CHECK(fl[0] == strlen(FILE_NAME) && memcmp(f[0], FILE_NAME, fl[0]) == 0);
		long long line = number(f[1], fl[1]);
		CHECK(line >= 1 && line <= nlines);
		CHECK(fl[3] > 0); /* a reason */
		covered[line] = true;
		rejects++;
		pos += n + 1;
	}
	CHECK(rows == r->stats.rows && rejects == r->stats.rejects && rejects == r->out.reject_calls);
	CHECK((r->stats.rejects == 0) == (r->stats.first_reject[0] == 0));
}

static bool same(const struct bytes *a, const struct bytes *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static void run_free(struct run *r)
{
	free(r->out.rows.p);
	free(r->out.rejects.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = ",;\t|:";
	static const char *const dates[] = {"", "DD/MM/YYYY", "YYYY-MM-DD", "DD.MM.YYYY", "MM/DD/YYYY", "YYYY MM DD"};
	if (size < 4 || size > 1024 * 1024)
		return 0;
	struct csv_dialect d = {0};
	d.delimiter = delims[data[0] % 5];
	d.quote = data[0] & 0x80 ? '\'' : '"';
	d.header = data[1] & 1;
	d.encoding = (enum csv_encoding)((data[1] >> 1) % 3);
	d.decimal_comma = data[1] & 0x10;
	snprintf(d.date_format, sizeof d.date_format, "%s", dates[data[2] % 6]);
	size_t ncols = 1 + data[3] % 5;
	size_t chunk = 1 + (data[3] >> 3) % 17;
	const uint8_t *file = data + 4;
	size_t n = size - 4;

	struct run whole = {0}, pieces = {0}, bytes = {0};
	convert(&d, ncols, file, n, n ? n : 1, &whole);
	convert(&d, ncols, file, n, chunk, &pieces);
	convert(&d, ncols, file, n, 1, &bytes);
	for (const struct run *r = &pieces; r; r = r == &pieces ? &bytes : NULL) {
		CHECK(whole.rc == r->rc && strcmp(whole.error, r->error) == 0);
		CHECK(same(&whole.out.rows, &r->out.rows));
		CHECK(same(&whole.out.rejects, &r->out.rejects));
		CHECK(memcmp(&whole.stats, &r->stats, sizeof whole.stats) == 0);
	}
	if (!d.header)
		CHECK(whole.rc == 0);
	if (whole.rc != 0) {
		CHECK(whole.error[0] != 0);
		goto out;
	}

	/* Lines: which hold something, which records start on. */
	size_t skip = d.encoding == CSV_UTF8 && n >= 3 && memcmp(file, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	long long nlines = 1;
	for (size_t i = 0; i < n; i++)
		nlines += file[i] == '\n';
	CHECK(whole.stats.lines == nlines - 1);
	bool *nonblank = calloc((size_t)nlines + 1, sizeof *nonblank);
	bool *covered = calloc((size_t)nlines + 1, sizeof *covered);
	CHECK(nonblank && covered);
	long long line = 1, first = 0;
	for (size_t i = skip; i < n; i++) {
		unsigned char ch = file[i];
		if (ch == '\n')
			line++;
		else if (!((ch == ' ' || ch == '\t' || ch == '\r') && ch != (unsigned char)d.delimiter)) {
			nonblank[line] = true;
			first = first ? first : line;
		}
	}
	check_output(&whole, ncols, covered, nlines);
	bool quotes = memchr(file, d.quote, n) != NULL;
	for (long long l = 1; l <= nlines; l++) {
		if (covered[l])
			CHECK(nonblank[l]);
		else if (!quotes && nonblank[l] && !(d.header && l == first)) {
			fprintf(stderr, "fuzz_csv: line %lld was neither converted nor rejected\n", l);
			abort();
		}
	}
	free(nonblank);
	free(covered);
out:
	run_free(&whole);
	run_free(&pieces);
	run_free(&bytes);
	return 0;
}
