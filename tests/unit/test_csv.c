/* CSV -> COPY conversion (jobs/csv_copy.c): dialects, quoting, line
 * endings, encodings, value rewriting, rejects with line and reason, and
 * that chunk boundaries never change the output. Then the options of sftp
 * sources that choose the dialect (jobs/sources/sftp/options.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/sources/sftp/csv_copy.h"
#include "jobs/sources/sftp/options.h"

struct out {
	char rows[1 << 16];
	size_t rows_len;
	char rejects[1 << 18];
	size_t rejects_len;
	bool refuse;
};

static int on_rows(void *ctx, const char *data, size_t len)
{
	struct out *o = ctx;
	if (o->refuse)
		return -1;
	assert_true(o->rows_len + len < sizeof o->rows);
	memcpy(o->rows + o->rows_len, data, len);
	o->rows_len += len;
	o->rows[o->rows_len] = 0;
	return 0;
}

static int on_reject(void *ctx, const char *row, size_t len)
{
	struct out *o = ctx;
	assert_true(o->rejects_len + len < sizeof o->rejects);
	memcpy(o->rejects + o->rejects_len, row, len);
	o->rejects_len += len;
	o->rejects[o->rejects_len] = 0;
	return 0;
}

static const struct csv_column estoque[] = {
	{"sku", CSV_TEXT}, {"quantidade", CSV_NUMBER}, {"data_referencia", CSV_DATE}};

static struct csv_dialect dialect(char delim, bool header)
{
	struct csv_dialect d = {.delimiter = delim, .quote = '"', .header = header, .encoding = CSV_UTF8};
	return d;
}

/* Converts `text` fed in chunks of `chunk` bytes (0 = all at once). */
static int convert(const struct csv_dialect *d, const struct csv_column *cols, size_t ncols, const char *text,
		   size_t len, size_t chunk, struct out *o, char *err, size_t errlen)
{
	char msg[256];
	struct csv_sink sink = {on_rows, on_reject, o};
	struct csv_copy *c = csv_copy_new(d, cols, ncols, "f.csv", 5000000000LL, &sink, msg, sizeof msg);
	assert_non_null(c);
	int rc = 0;
	size_t step = chunk ? chunk : (len ? len : 1);
	for (size_t off = 0; off < len && rc == 0; off += step)
		rc = csv_copy_feed(c, text + off, len - off < step ? len - off : step);
	if (rc == 0)
		rc = csv_copy_finish(c);
	if (err)
		snprintf(err, errlen, "%s", csv_copy_error(c));
	csv_copy_free(c);
	return rc;
}

static void convert_ok(const struct csv_dialect *d, const struct csv_column *cols, size_t ncols, const char *text,
		       struct out *o)
{
	char err[512];
	memset(o, 0, sizeof *o);
	if (convert(d, cols, ncols, text, strlen(text), 0, o, err, sizeof err) != 0)
		fail_msg("conversion failed: %s", err);
}

static void comma_with_header(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(',', true);
	convert_ok(&d, estoque, 3, "sku,quantidade,data_referencia\nSKU-1,10,2024-12-01\nSKU-2,,2024-12-02\n", &o);
	assert_string_equal(o.rows, "SKU-1\t10\t2024-12-01\t5000000002\tU\tf.csv\t2\n"
				    "SKU-2\t\\N\t2024-12-02\t5000000003\tU\tf.csv\t3\n");
	assert_int_equal(o.rejects_len, 0);
}

static void header_order_case_and_accents(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(';', true);
	const struct csv_column cols[] = {{"codigo_produto", CSV_TEXT}, {"preco", CSV_NUMBER}};
	/* extra columns in the file are ignored; names match without case and accents */
	convert_ok(&d, cols, 2, "Pre\xC3\xA7o;Descri\xC3\xA7\xC3\xA3o;C\xC3\xB3" "digo Produto\n9,90;Caf\xC3\xA9;P1\n", &o);
	assert_string_equal(o.rows, "P1\t9,90\t5000000002\tU\tf.csv\t2\n");
}

static void quotes_delimiters_and_newlines(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(';', true);
	const struct csv_column cols[] = {{"id", CSV_TEXT}, {"nome", CSV_TEXT}, {"obs", CSV_TEXT}};
	convert_ok(&d, cols, 3,
		   "id;nome;obs\n"
		   "1;\"Caf\xC3\xA9; torrado\";\"linha 1\nlinha 2\"\n"
		   "2;\"diz \"\"oi\"\"\";\"a\\b\tc\"\n"
		   "3;x;y\n", &o);
	assert_string_equal(o.rows,
			    "1\tCaf\xC3\xA9; torrado\tlinha 1\\nlinha 2\t5000000002\tU\tf.csv\t2\n"
			    "2\tdiz \"oi\"\ta\\\\b\\tc\t5000000004\tU\tf.csv\t4\n"
			    "3\tx\ty\t5000000005\tU\tf.csv\t5\n");
}

static void crlf_blanks_and_blank_lines(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(',', true);
	convert_ok(&d, estoque, 3,
		   "sku , quantidade,data_referencia\r\n"
		   "  SKU-1  , 10 ,2024-12-01  \r\n"
		   "\r\n"
		   "   \r\n"
		   "SKU-2,\"  7 \",2024-12-02\r\n"
		   "\r\n", &o);
	assert_string_equal(o.rows, "SKU-1\t10\t2024-12-01\t5000000002\tU\tf.csv\t2\n"
				    "SKU-2\t  7 \t2024-12-02\t5000000005\tU\tf.csv\t5\n");
	assert_int_equal(o.rejects_len, 0);
}

static void bom_is_dropped(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(',', true);
	convert_ok(&d, estoque, 3, "\xEF\xBB\xBFsku,quantidade,data_referencia\nA,1,2024-01-01\n", &o);
	assert_string_equal(o.rows, "A\t1\t2024-01-01\t5000000002\tU\tf.csv\t2\n");
}

static void latin1_and_windows1252(void **state)
{
	static struct out o;
	const struct csv_column cols[] = {{"cidade", CSV_TEXT}, {"preco", CSV_TEXT}};
	struct csv_dialect d = dialect(';', false);
	d.encoding = CSV_LATIN1;
	convert_ok(&d, cols, 2, "S\xE3o Paulo;\xA4 5\nGoi\xE2nia;x\n", &o);
	assert_string_equal(o.rows, "S\xC3\xA3o Paulo\t\xC2\xA4 5\t5000000001\tU\tf.csv\t1\n"
				    "Goi\xC3\xA2nia\tx\t5000000002\tU\tf.csv\t2\n");

	d.encoding = CSV_WIN1252;
	convert_ok(&d, cols, 2, "Bras\xEDlia;\x80 5\nRu\x81im;y\nok;z\n", &o);
	assert_string_equal(o.rows, "Bras\xC3\xADlia\t\xE2\x82\xAC 5\t5000000001\tU\tf.csv\t1\n"
				    "ok\tz\t5000000003\tU\tf.csv\t3\n");
	assert_string_equal(o.rejects, "f.csv\t2\tRu\\\\x81im;y\tbyte 0x81 is not a Windows-1252 character "
				       "(column cidade, byte 3 of the value)\n");
}

static void bad_utf8_is_rejected(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(',', true);
	convert_ok(&d, estoque, 3, "sku,quantidade,data_referencia\nS\xE9O,1,2024-01-01\nB,\xC0\xAF,x\nC,2,y\n", &o);
	assert_string_equal(o.rows, "C\t2\ty\t5000000004\tU\tf.csv\t4\n");
	assert_string_equal(o.rejects,
			    "f.csv\t2\tS\\\\xE9O,1,2024-01-01\tbyte 0xE9 is not valid UTF-8 (column sku, byte 2 of the value)\n"
			    "f.csv\t3\tB,\\\\xC0\\\\xAF,x\tbyte 0xC0 is not valid UTF-8 (column quantidade, byte 1 of the value)\n");
}

static void wrong_field_count_is_rejected(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(';', true);
	convert_ok(&d, estoque, 3, "sku;quantidade;data_referencia\nA;1\nB;2;2024-01-01;extra\nC;3;2024-01-01\n", &o);
	assert_string_equal(o.rows, "C\t3\t2024-01-01\t5000000004\tU\tf.csv\t4\n");
	assert_string_equal(o.rejects, "f.csv\t2\tA;1\texpected 3 fields, found 2\n"
				       "f.csv\t3\tB;2;2024-01-01;extra\texpected 3 fields, found 4\n");
}

static void malformed_quotes_are_rejected(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(',', false);
	convert_ok(&d, estoque, 3, "A,\"1\"x,d\nB,TV 42\",d\nC,3,d\nD,\"4,d\n", &o);
	assert_string_equal(o.rows, "C\t3\td\t5000000003\tU\tf.csv\t3\n");
	assert_non_null(strstr(o.rejects, "f.csv\t1\tA,\"1\"x,d\tmalformed quoting"));
	assert_non_null(strstr(o.rejects, "f.csv\t2\tB,TV 42\",d\tmalformed quoting"));
	assert_non_null(strstr(o.rejects, "f.csv\t4\tD,\"4,d\ta quoted field is not closed before the end of the file"));
}

static void decimal_comma_and_dates(void **state)
{
	static struct out o;
	const struct csv_column cols[] = {
		{"preco", CSV_NUMBER}, {"nome", CSV_TEXT}, {"vigencia", CSV_DATE}, {"qtd", CSV_NUMBER}};
	struct csv_dialect d = dialect(';', false);
	d.decimal_comma = true;
	snprintf(d.date_format, sizeof d.date_format, "DD/MM/YYYY");
	convert_ok(&d, cols, 4,
		   "1.234,56;1.234,56;31/12/2024;1.500\n"
		   "-0,5;x;1/2/2025 08:30:00;\"\"\n"
		   "R$ 3,00;x;2025-02-01;12\n"
		   "1,2,3;x;32/01/2025;1.5,0\n", &o);
	assert_string_equal(o.rows,
			    "1234.56\t1.234,56\t2024-12-31\t1500\t5000000001\tU\tf.csv\t1\n"
			    "-0.5\tx\t2025-02-01 08:30:00\t\\N\t5000000002\tU\tf.csv\t2\n"
			    "R$ 3,00\tx\t2025-02-01\t12\t5000000003\tU\tf.csv\t3\n"
			    "1,2,3\tx\t32/01/2025\t15.0\t5000000004\tU\tf.csv\t4\n");

	snprintf(d.date_format, sizeof d.date_format, "YYYYMMDD");
	d.decimal_comma = false;
	convert_ok(&d, cols, 4, "1,5;x;20240229;1\n1;x;2024031;2\n", &o);
	assert_string_equal(o.rows, "1,5\tx\t2024-02-29\t1\t5000000001\tU\tf.csv\t1\n"
				    "1\tx\t2024031\t2\t5000000002\tU\tf.csv\t2\n");
}

static void tab_delimiter_and_positions(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect('\t', false);
	convert_ok(&d, estoque, 3, "A\t \t2024-01-01\n B \t2\t\n", &o);
	assert_string_equal(o.rows, "A\t\\N\t2024-01-01\t5000000001\tU\tf.csv\t1\n"
				    "B\t2\t\\N\t5000000002\tU\tf.csv\t2\n");
}

static void empty_and_null(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(',', false);
	convert_ok(&d, estoque, 3, "\"\",,\nx,\"\",\n", &o);
	assert_string_equal(o.rows, "\t\\N\t\\N\t5000000001\tU\tf.csv\t1\n"
				    "x\t\\N\t\\N\t5000000002\tU\tf.csv\t2\n");
}

static void missing_header_column_fails(void **state)
{
	static struct out o;
	memset(&o, 0, sizeof o);
	char err[512];
	struct csv_dialect d = dialect(',', true);
	const char *text = "sku,qtd\nA,1\n";
	assert_int_equal(convert(&d, estoque, 3, text, strlen(text), 0, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "the header has no column quantidade (it has: sku, qtd)"));
	assert_int_equal(o.rows_len, 0);
}

static void sink_failure_stops(void **state)
{
	static struct out o;
	memset(&o, 0, sizeof o);
	o.refuse = true;
	char err[512];
	struct csv_dialect d = dialect(',', false);
	const char *text = "A,1,2\n";
	assert_int_equal(convert(&d, estoque, 3, text, strlen(text), 0, &o, err, sizeof err), -1);
}

static void no_final_newline_and_empty_files(void **state)
{
	static struct out o;
	struct csv_dialect d = dialect(',', true);
	convert_ok(&d, estoque, 3, "sku,quantidade,data_referencia\nA,1,x", &o);
	assert_string_equal(o.rows, "A\t1\tx\t5000000002\tU\tf.csv\t2\n");
	convert_ok(&d, estoque, 3, "", &o);
	assert_int_equal(o.rows_len + o.rejects_len, 0);
	convert_ok(&d, estoque, 3, "sku,quantidade,data_referencia\r\n", &o);
	assert_int_equal(o.rows_len + o.rejects_len, 0);
	d.header = false;
	convert_ok(&d, estoque, 3, "\xEF\xBB", &o);
	assert_string_equal(o.rejects, "f.csv\t1\t\\\\xEF\\\\xBB\texpected 3 fields, found 1\n");
}

/* Every chunk size gives the same rows and rejects as one chunk. */
static void chunking_does_not_matter(void **state)
{
	const char *text =
		"\xEF\xBB\xBFsku;quantidade;data_referencia\r\n"
		"A;\"1\";\"multi\r\nline\"\r\n"
		"B;2\r\n"
		"\r\n"
		"C;\"3;3\";x\r\n"
		"D;4;\xFF\r\n"
		"E;5;\"unterminated\r\n";
	struct csv_dialect d = dialect(';', true);
	static struct out whole, piece;
	char err[256];
	memset(&whole, 0, sizeof whole);
	assert_int_equal(convert(&d, estoque, 3, text, strlen(text), 0, &whole, err, sizeof err), 0);
	assert_non_null(strstr(whole.rows, "A\t1\tmulti\\r\\nline\t5000000002\tU\tf.csv\t2\n"));
	assert_non_null(strstr(whole.rows, "C\t3;3\tx\t5000000006\tU\tf.csv\t6\n"));
	assert_non_null(strstr(whole.rejects, "f.csv\t4\tB;2\texpected 3 fields, found 2\n"));
	assert_non_null(strstr(whole.rejects, "f.csv\t7\tD;4;\\\\xFF\tbyte 0xFF"));
	assert_non_null(strstr(whole.rejects, "f.csv\t8\tE;5;\"unterminated\ta quoted field"));
	for (size_t chunk = 1; chunk < 20; chunk++) {
		memset(&piece, 0, sizeof piece);
		assert_int_equal(convert(&d, estoque, 3, text, strlen(text), chunk, &piece, err, sizeof err), 0);
		assert_string_equal(piece.rows, whole.rows);
		assert_string_equal(piece.rejects, whole.rejects);
	}
}

/* Converts `text` (no header, ',') whole and in chunks of 1..11 bytes: the
 * rows must be `rows` and the rejects exactly `rejects` every time. */
static void same_in_every_chunking(const char *text, const char *rows, const char *rejects)
{
	struct csv_dialect d = dialect(',', false);
	static struct out o;
	char err[256];
	for (size_t chunk = 0; chunk < 12; chunk++) {
		memset(&o, 0, sizeof o);
		assert_int_equal(convert(&d, estoque, 3, text, strlen(text), chunk, &o, err, sizeof err), 0);
		assert_string_equal(o.rows, rows);
		assert_string_equal(o.rejects, rejects);
	}
}

/* Found by tests/fuzz/fuzz_csv: a parse error in a chunk that ended before
 * the line did rejected only the text so far, and the rest of the line was
 * parsed as a record of its own, here a garbage row "\N 2 3" for line 1. */
static void malformed_line_is_one_reject_whatever_the_chunks(void **state)
{
	same_in_every_chunking("A,\"1\"x,2,3\nB,2,3\n", "B\t2\t3\t5000000002\tU\tf.csv\t2\n",
			       "f.csv\t1\tA,\"1\"x,2,3\tmalformed quoting (a quote inside an unquoted field, "
			       "or text after a closing quote)\n");
}

/* Found by tests/fuzz/fuzz_csv: a reject's raw text lost the blanks before
 * a chunk boundary, and took in a record ended by a bare CR earlier on its
 * line unless a boundary fell after the CR. */
static void reject_text_does_not_depend_on_the_chunks(void **state)
{
	same_in_every_chunking("A,1,d\rB,\"2\"x,d\n  C,3\n", "A\t1\td\t5000000001\tU\tf.csv\t1\n",
			       "f.csv\t1\tB,\"2\"x,d\tmalformed quoting (a quote inside an unquoted field, "
			       "or text after a closing quote)\n"
			       "f.csv\t2\t  C,3\texpected 3 fields, found 2\n");
}

/* Whole lines are split by the converter itself, not libcsv, when their
 * quoting closes on the line; fed a byte at a time every line goes to
 * libcsv. Both must agree on blanks around quoted fields, doubled quotes,
 * empty quoted fields, a CRLF, and leave to libcsv what it rejects or what
 * goes on past the line. */
static void own_splitting_agrees_with_libcsv(void **state)
{
	same_in_every_chunking(" \"A \"\"x\"\" \" , 1 ,\"d\"\n"
			       "\"\",,\n"
			       "\"B,1\",  \"2\"  ,\r\n"
			       "C,\"3\"x,d\n"
			       "\"D\n2\",4,d\n"
			       "E,5,\"d\" \"\n"
			       "  \t \n"
			       "F,6,d,\n"
			       "\"\"\"\",\"\"\"7\",\"\"\n",
			       "A \"x\" \t1\td\t5000000001\tU\tf.csv\t1\n"
			       "\t\\N\t\\N\t5000000002\tU\tf.csv\t2\n"
			       "B,1\t2\t\\N\t5000000003\tU\tf.csv\t3\n"
			       "D\\n2\t4\td\t5000000005\tU\tf.csv\t5\n"
			       "\"\t\"7\t\\N\t5000000010\tU\tf.csv\t10\n",
			       "f.csv\t4\tC,\"3\"x,d\tmalformed quoting (a quote inside an unquoted field, "
			       "or text after a closing quote)\n"
			       "f.csv\t7\tE,5,\"d\" \"\tmalformed quoting (a quote inside an unquoted field, "
			       "or text after a closing quote)\n"
			       "f.csv\t9\tF,6,d,\texpected 3 fields, found 4\n");
}

/* Found by tests/fuzz/fuzz_csv (UBSan with clang): a header of empty fields
 * read them at an offset from fdata's NULL buffer. */
static void header_of_empty_fields_fails_cleanly(void **state)
{
	struct csv_dialect d = dialect(',', true);
	static struct out o;
	char err[256];
	memset(&o, 0, sizeof o);
	assert_int_equal(convert(&d, estoque, 3, "\"\",\"\"\n", 6, 0, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "the header has no column sku"));
}

static void long_record_is_rejected(void **state)
{
	size_t big = CSV_MAX_RECORD + 100;
	char *text = malloc(big + 64);
	if (!text)
		fail_msg("no memory");
	memcpy(text, "A,\"", 3);
	for (size_t i = 0; i < big; i++)
		text[3 + i] = 'x';
	memcpy(text + 3 + big, "\nB,1,d\n", 8);
	struct csv_dialect d = dialect(',', false);
	struct out *o = calloc(1, sizeof *o);
	char err[256];
	assert_int_equal(convert(&d, estoque, 3, text, strlen(text), 65536, o, err, sizeof err), 0);
	assert_string_equal(o->rows, "B\t1\td\t5000000002\tU\tf.csv\t2\n");
	assert_non_null(strstr(o->rejects, "record longer than"));
	assert_non_null(strstr(o->rejects, "bytes in all]"));
	free(o);
	free(text);
}

static void helpers(void **state)
{
	assert_true(csv_date_format_valid("DD/MM/YYYY"));
	assert_true(csv_date_format_valid("YYYY-MM-DD"));
	assert_true(csv_date_format_valid("YYYYMMDD"));
	assert_false(csv_date_format_valid("DD/MM/YY"));
	assert_false(csv_date_format_valid("DD/DD/YYYY"));
	assert_false(csv_date_format_valid("%d/%m/%Y"));
	assert_int_equal(csv_kind_of_type("numeric(12,2)"), CSV_NUMBER);
	assert_int_equal(csv_kind_of_type("integer"), CSV_NUMBER);
	assert_int_equal(csv_kind_of_type("double precision"), CSV_NUMBER);
	assert_int_equal(csv_kind_of_type("timestamptz"), CSV_DATE);
	assert_int_equal(csv_kind_of_type("date"), CSV_DATE);
	assert_int_equal(csv_kind_of_type("text"), CSV_TEXT);
	assert_int_equal(csv_kind_of_type("time(3)"), CSV_TEXT);
}


/* --- sftp options ---------------------------------------------------- */

static const char *sftp_base =
	"{\"source_type\":\"sftp\",\"connection_secret\":\"env:LAKE_SECRET_SFTP_PASSWORD\",\"options\":{"
	"\"host\":\"sftp.parceiros.example\",\"user\":\"shopper\",\"directory\":\"/saida/estoque\","
	"\"known_host\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDq9NOnMWXf8XZqiyfv5uyBQxRKhhyz6R9a35hyO1rtk\"}}";

/* Validates sftp_base with options.key set to the JSON value (NULL removes it). */
static int sftp_with(const char *key, const char *value, char *field, char *msg, json_t **out)
{
	json_t *src = json_loads(sftp_base, 0, NULL);
	assert_non_null(src);
	json_t *opts = json_object_get(src, "options");
	if (key && value)
		json_object_set_new(opts, key, json_loads(value, JSON_DECODE_ANY, NULL));
	else if (key)
		json_object_del(opts, key);
	int rc = sftp_options_validate(src, field, 64, msg, 256);
	if (out)
		*out = src;
	else
		json_decref(src);
	return rc;
}

static void sftp_expect(const char *key, const char *value, const char *field, const char *words)
{
	char f[64], m[256];
	assert_int_equal(sftp_with(key, value, f, m, NULL), -1);
	assert_string_equal(f, field);
	if (!strstr(m, words))
		fail_msg("message '%s' lacks '%s'", m, words);
}

static void sftp_defaults_are_filled(void **state)
{
	char f[64], m[256];
	json_t *src;
	assert_int_equal(sftp_with("encoding", "\"CP1252\"", f, m, &src), 0);
	json_t *o = json_object_get(src, "options");
	assert_int_equal(json_integer_value(json_object_get(o, "port")), 22);
	assert_string_equal(json_string_value(json_object_get(o, "delimiter")), ",");
	assert_string_equal(json_string_value(json_object_get(o, "quote")), "\"");
	assert_string_equal(json_string_value(json_object_get(o, "pattern")), "*");
	assert_string_equal(json_string_value(json_object_get(o, "encoding")), "windows-1252");
	assert_true(json_is_true(json_object_get(o, "header")));
	assert_true(json_is_false(json_object_get(o, "decimal_comma")));
	assert_int_equal(json_integer_value(json_object_get(o, "max_reject_pct")), 10);
	struct sftp_options opts;
	assert_int_equal(sftp_options_read(src, &opts, f, sizeof f, m, sizeof m), 0);
	assert_string_equal(opts.password_secret, "env:LAKE_SECRET_SFTP_PASSWORD");
	assert_int_equal(opts.dialect.encoding, CSV_WIN1252);
	json_decref(src);
}

static void sftp_options_are_checked(void **state)
{
	sftp_expect("known_host", NULL, "options.known_host", "required");
	sftp_expect("known_host", "\"AAAA\"", "options.known_host", "public host key");
	sftp_expect("host", NULL, "options.host", "required");
	sftp_expect("host", "\"bad host\"", "options.host", "host name");
	sftp_expect("port", "70000", "options.port", "1 to 65535");
	sftp_expect("directory", "\"saida\"", "options.directory", "absolute");
	sftp_expect("pattern", "\"a/*.csv\"", "options.pattern", "without '/'");
	sftp_expect("delimiter", "\";;\"", "options.delimiter", "one character");
	sftp_expect("quote", "\",\"", "options.quote", "differ from the delimiter");
	sftp_expect("encoding", "\"utf-16\"", "options.encoding", "utf-8, latin-1 or windows-1252");
	sftp_expect("date_format", "\"%d/%m/%Y\"", "options.date_format", "DD, MM and YYYY");
	sftp_expect("max_reject_pct", "101", "options.max_reject_pct", "0 to 100");
	sftp_expect("password_secret", "\"hunter2\"", "options.password_secret", "reference");
	sftp_expect("passphrase_secret", "\"env:LAKE_SECRET_K\"", "options.passphrase_secret", "private_key_file");
	sftp_expect("path", "\"/saida\"", "options.path", "\"directory\"");
}

static void sftp_known_host_forms(void **state)
{
	char type[32], key[1024];
	const char *b64 = "AAAAC3NzaC1lZDI1NTE5AAAAIDq9NOnMWXf8XZqiyfv5uyBQxRKhhyz6R9a35hyO1rtk";
	char line[256];
	snprintf(line, sizeof line, "[sftp.example]:2222 ssh-ed25519 %s comment", b64);
	assert_int_equal(sftp_known_host_parse(line, type, sizeof type, key, sizeof key), 0);
	assert_string_equal(type, "ssh-ed25519");
	assert_string_equal(key, b64);
	assert_int_equal(sftp_known_host_parse("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", type, sizeof type,
					       key, sizeof key), 0);
	assert_string_equal(type, "SHA256");
	assert_int_equal(sftp_known_host_parse("ssh-ed25519", type, sizeof type, key, sizeof key), -1);
	assert_int_equal(sftp_known_host_parse("ssh-foo AAAAC3NzaC1lZDI1NTE5AAAA", type, sizeof type, key, sizeof key), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(comma_with_header),
		cmocka_unit_test(header_order_case_and_accents),
		cmocka_unit_test(quotes_delimiters_and_newlines),
		cmocka_unit_test(crlf_blanks_and_blank_lines),
		cmocka_unit_test(bom_is_dropped),
		cmocka_unit_test(latin1_and_windows1252),
		cmocka_unit_test(bad_utf8_is_rejected),
		cmocka_unit_test(wrong_field_count_is_rejected),
		cmocka_unit_test(malformed_quotes_are_rejected),
		cmocka_unit_test(decimal_comma_and_dates),
		cmocka_unit_test(tab_delimiter_and_positions),
		cmocka_unit_test(empty_and_null),
		cmocka_unit_test(missing_header_column_fails),
		cmocka_unit_test(sink_failure_stops),
		cmocka_unit_test(no_final_newline_and_empty_files),
		cmocka_unit_test(chunking_does_not_matter),
		cmocka_unit_test(malformed_line_is_one_reject_whatever_the_chunks),
		cmocka_unit_test(reject_text_does_not_depend_on_the_chunks),
		cmocka_unit_test(own_splitting_agrees_with_libcsv),
		cmocka_unit_test(header_of_empty_fields_fails_cleanly),
		cmocka_unit_test(long_record_is_rejected),
		cmocka_unit_test(helpers),
		cmocka_unit_test(sftp_defaults_are_filled),
		cmocka_unit_test(sftp_options_are_checked),
		cmocka_unit_test(sftp_known_host_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
