/* CSV -> COPY text, streaming: the converter that turns a delimited file
 * (any dialect the sftp sources allow) into rows for a LAND table.
 *
 * Bytes go in with csv_copy_feed in chunks of any size. libcsv's rules are
 * the CSV rules (quotes, delimiters and newlines inside quotes, CRLF, blanks
 * around unquoted fields): a whole line whose quoting closes on it is split
 * by the converter itself with the same result (tests/fuzz/fuzz_csv checks
 * it against libcsv), anything else goes through libcsv, which is 2 to 3
 * times slower. Each record becomes one COPY text row
 *     col1 \t ... \t colN \t sys_change_version \t U \t file \t line \n
 * or, when it does not fit (wrong number of fields, bad encoding, broken
 * quotes), one reject row
 *     file \t line \t raw text \t reason \n
 * for the rejects table. `line` is the physical line a record starts on
 * (1-based, the header is line 1); the version is version_base + line.
 *
 * Nothing is held but the current record and one output batch: memory stays
 * flat whatever the file's size. Latin-1 and Windows-1252 are transcoded to
 * UTF-8 with iconv; a UTF-8 BOM is dropped. With decimal_comma, values of
 * numeric columns lose their thousands dots and get a decimal point
 * ("1.234,56" -> "1234.56"); with a date_format, values of date and
 * timestamp columns that match it are rewritten ISO ("31/12/2024 10:00" ->
 * "2024-12-31 10:00"). Values that do not match are left as they are, for
 * TRUSTED's casts to quarantine. */
#ifndef LAKE_CSV_COPY_H
#define LAKE_CSV_COPY_H

#include "jobs/sources/sftp/csv_values.h"

#include <stdbool.h>
#include <stddef.h>

/* Records longer than this are rejected (an unterminated quote, most likely). */
#define CSV_MAX_RECORD (1024 * 1024)
/* Raw text kept of a rejected record. */
#define CSV_MAX_RAW (64 * 1024)
/* Lines per file, so that version_base + line never reaches the next file. */
#define CSV_MAX_LINES 1000000000LL

enum csv_encoding { CSV_UTF8, CSV_LATIN1, CSV_WIN1252 };
enum csv_kind { CSV_TEXT, CSV_NUMBER, CSV_DATE };

struct csv_dialect {
	char delimiter;
	char quote;
	bool header;                /* the first record names the columns */
	enum csv_encoding encoding;
	bool decimal_comma;
	char date_format[CSV_DATE_FORMAT_MAX]; /* e.g. "DD/MM/YYYY"; "" = leave dates alone */
};

struct csv_column {
	const char *name;           /* matched against the header, case and accents ignored */
	enum csv_kind kind;
};

/* Where the output goes. Each returns 0, or -1 to stop (csv_copy_feed then
 * fails with the message the sink left in its own context). */
struct csv_sink {
	int (*rows)(void *ctx, const char *data, size_t len);  /* whole COPY rows, batched */
	int (*reject)(void *ctx, const char *row, size_t len); /* one reject row */
	void *ctx;
};

struct csv_copy_stats {
	long long lines;            /* physical lines read */
	long long rows;             /* rows sent to the sink */
	long long rejects;
	char first_reject[256];     /* "line N: reason" of the first reject */
};

struct csv_copy;

/* A converter for one file. `cols` (copied) are the LAND columns in COPY
 * order; `file` is the name written in every row. NULL on a bad dialect or
 * no memory, with the reason in err. */
struct csv_copy *csv_copy_new(const struct csv_dialect *d, const struct csv_column *cols, size_t ncols,
			      const char *file, long long version_base, const struct csv_sink *sink,
			      char *err, size_t errlen);
/* 0, or -1 when the file cannot be loaded at all (a header without a
 * declared column, a sink failure, no memory): see csv_copy_error. */
int csv_copy_feed(struct csv_copy *c, const void *data, size_t len);
/* Ends the file: the last record, the last batch. 0 or -1 as above. */
int csv_copy_finish(struct csv_copy *c);
const struct csv_copy_stats *csv_copy_stats(const struct csv_copy *c);
const char *csv_copy_error(const struct csv_copy *c);
/* true when the error was the sink's (then the sink knows why). */
bool csv_copy_sink_failed(const struct csv_copy *c);
void csv_copy_free(struct csv_copy *c);

/* The kind of a validated column type ("numeric(12,2)" -> CSV_NUMBER). */
enum csv_kind csv_kind_of_type(const char *type);

#endif
