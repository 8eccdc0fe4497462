/* Extraction of CSV files from an SFTP server.
 *
 * A load lists the source's directory, keeps the files that match the
 * pattern, and takes them oldest first. A file is a version: its name, size
 * and mtime. A version found in control.files was loaded before and is
 * skipped (a full load takes every file again). Any other is downloaded
 * into the bucket (<bucket>/<system>/<object>/dt=YYYY-MM-DD/<name>) under a
 * temporary name, renamed only when the whole file arrived; a transfer cut
 * midway is retried from the start, and after options.max_retries the load
 * fails transiently, so nothing half-read ever lands. A file whose size or
 * mtime moved between the listing and the end of its download is still
 * being written: it is left for the next load (as are files younger than
 * options.min_age_seconds).
 *
 * Each downloaded version is recorded in control.files and its rows stream
 * from the bucket file through the CSV converter (csv_copy.c) into LAND
 * with COPY, in the runner's open transaction: the record and the rows
 * commit together, with RAW and the job's state. A file never seen before
 * (or any, in a full load), when it is the job's first to land, lands while
 * it downloads instead (options.stream, on by default): the download feeds
 * the converter as it writes the bucket file, inside a savepoint that a
 * retry, a vanished or a still-changing file rolls back. A new version of a
 * known file is downloaded whole first: it may turn out to repeat the last
 * one (same SHA-256), and then nothing lands. Rows carry
 * sys_change_operation 'U' (files are upserts, not snapshots),
 * sys_change_version = file id * 10^9 + line, so TRUSTED keeps the row of
 * the version loaded last for each key, and _file (the name) and _line.
 * Rows that do not fit go to land.<table>_rejects with the file, line, raw
 * text and reason; more than options.max_reject_pct of a file's rows there
 * fails the load (permanently: the file must change). */
#include "jobs/sources/sftp/csv_copy.h"
#include "jobs/sources/kind.h"
#include "jobs/layers/land.h"
#include "jobs/sources/sftp/fetch.h"
#include "jobs/sources/sftp/files.h"
#include "jobs/sources/sftp/options.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (256 * 1024)
#define LINES_PER_FILE_VERSION CSV_MAX_LINES /* sys_change_version = file id * this + line */

struct sftp_load {
	struct worker_slot *w;
	const struct claimed_job *job;
	json_t *source;            /* a copy, with the options' defaults filled in */
	struct sftp_options o;
	struct sftp_session s;
	bool session_open;
	const char *land_table;
	char rejects[256];
	char bucket[4096];         /* today's directory of the source in the bucket */
	struct csv_column *cols;
	size_t ncols;
	bool full;                 /* a full load takes every file again */

	FILE *spool;               /* the current file's rejects */
	char lake_error[512];      /* why the lake refused rows */

	long long rows, rejected;
	int loaded, skipped, waiting, unchanged;
	char newest[600];          /* name@mtime of the newest file loaded */
	char *buf;                 /* READ_CHUNK */
};

static bool should_stop(void *arg)
{
	return worker_should_stop(arg);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Sleeps before retry `attempt`; false when the job must stop instead. */
static bool backoff(struct sftp_load *l, int attempt)
{
	long ms = 500L << (attempt < 5 ? attempt : 5);
	if (ms > 10000)
		ms = 10000;
	while (ms > 0 && !worker_should_stop(l->w)) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
		ms -= 100;
	}
	return !worker_should_stop(l->w);
}

static enum job_outcome outcome_of(enum sftp_status st)
{
	return st == SFTP_PERMANENT ? JOB_PERMANENT : st == SFTP_CANCELLED ? JOB_CANCELLED : JOB_TRANSIENT;
}

static void iso_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- setup ----------------------------------------------------------- */

static int setup(struct sftp_load *l, json_t *source, struct load_error *err)
{
	char field[64], msg[512];
	l->source = json_deep_copy(source);
	if (!l->source)
		return load_fail(err, JOB_TRANSIENT, "out of memory");
	if (sftp_options_read(l->source, &l->o, field, sizeof field, msg, sizeof msg) != 0)
		return load_fail(err, JOB_PERMANENT, "%s %s", field, msg);

	json_t *cols = json_object_get(l->source, "columns");
	l->ncols = json_array_size(cols);
	l->cols = calloc(l->ncols ? l->ncols : 1, sizeof *l->cols);
	l->buf = malloc(READ_CHUNK);
	if (!l->cols || !l->buf)
		return load_fail(err, JOB_TRANSIENT, "out of memory");
	size_t i;
	json_t *col;
	json_array_foreach(cols, i, col) {
		l->cols[i].name = json_string_value(json_object_get(col, "name"));
		l->cols[i].kind = csv_kind_of_type(json_string_value(json_object_get(col, "type")));
	}

	if (sftp_files_prepare(l->w->lake, l->source, l->land_table, l->rejects, sizeof l->rejects, msg,
			       sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);

	if (job_bucket_dir(l->w, l->source, l->bucket, sizeof l->bucket, err) != 0)
		return -1;

	const char *tmp = getenv("TMPDIR");
	if (sftp_open(&l->s, &l->o, tmp && *tmp ? tmp : "/tmp", should_stop, l->w, msg, sizeof msg) != 0)
		return load_fail(err, JOB_PERMANENT, "%s", msg);
	l->session_open = true;
	return 0;
}

/* --- landing --------------------------------------------------------- */

static int put_rows(void *arg, const char *data, size_t len)
{
	struct sftp_load *l = arg;
	if (PQputCopyData(l->w->lake, data, (int)len) == 1)
		return 0;
	snprintf(l->lake_error, sizeof l->lake_error, "%s", PQerrorMessage(l->w->lake));
	return -1;
}

static int put_reject(void *arg, const char *row, size_t len)
{
	struct sftp_load *l = arg;
	if (fwrite(row, 1, len, l->spool) == len)
		return 0;
	snprintf(l->lake_error, sizeof l->lake_error, "cannot spool rejects: %s", strerror(errno));
	return -1;
}

/* One file's rows on their way into LAND: the converter, the COPY, the
 * spool of rejects. Fed from the bucket file (land_file) or from the
 * download itself (stream_file). */
struct landing {
	struct sftp_load *l;
	const struct sftp_file *f;
	long long file_id;
	struct csv_copy *c;
	bool copying;
	long long consumed, base_rows;
};

static int landing_begin(struct landing *g, struct sftp_load *l, const struct sftp_file *f, long long file_id,
			 struct load_error *err)
{
	char msg[512];
	struct csv_sink sink = {put_rows, put_reject, l};
	*g = (struct landing){.l = l, .f = f, .file_id = file_id, .base_rows = l->rows + l->rejected};
	l->lake_error[0] = 0;
	if (!(l->spool = tmpfile()))
		return load_fail(err, JOB_TRANSIENT, "cannot create a spool file: %s", strerror(errno));
	/* _file is the name on the server: short, since every row repeats it;
	 * the version (and its bucket path) is control.files.id =
	 * sys_change_version / 10^9 */
	g->c = csv_copy_new(&l->o.dialect, l->cols, l->ncols, f->name, file_id * LINES_PER_FILE_VERSION, &sink, msg,
			    sizeof msg);
	if (!g->c)
		return load_fail(err, JOB_PERMANENT, "%s: %s", f->name, msg);
	if (land_copy_begin_extra(l->w->lake, l->source, l->land_table, ", _file, _line", msg, sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	g->copying = true;
	return 0;
}

/* Hands the converter a piece of the file; the job's progress follows. */
static int landing_feed(void *arg, const char *data, size_t len)
{
	struct landing *g = arg;
	if (csv_copy_feed(g->c, data, len) != 0)
		return -1;
	g->consumed += (long long)len;
	const struct csv_copy_stats *st = csv_copy_stats(g->c);
	long long done = st->rows + st->rejects;
	atomic_store(&g->l->w->rows_read, g->base_rows + done);
	/* progress: this file's rows so far, scaled to its size */
	if (done > 0)
		atomic_store(&g->l->w->rows_estimate,
			     g->base_rows + (long long)((double)done * (double)g->f->size / (double)g->consumed));
	return 0;
}

/* Why the converter stopped: the lake refused rows (transient) or the file
 * cannot be loaded (permanent). */
static int landing_failed(struct landing *g, struct load_error *err)
{
	if (csv_copy_sink_failed(g->c))
		return load_fail(err, JOB_TRANSIENT, "lake copy: %s", g->l->lake_error);
	return load_fail(err, JOB_PERMANENT, "%s: %s", g->f->name, csv_copy_error(g->c));
}

/* Ends the file: the last rows, the COPY, the reject threshold, the rejects
 * kept and the version's counts. */
static int landing_finish(struct landing *g, long long *landed, long long *rejects, struct load_error *err)
{
	struct sftp_load *l = g->l;
	char msg[512];
	*landed = *rejects = 0;
	if (csv_copy_error(g->c)[0] == 0)
		csv_copy_finish(g->c);
	if (csv_copy_error(g->c)[0])
		return landing_failed(g, err);
	g->copying = false;
	if (land_copy_end(l->w->lake, NULL, landed, msg, sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake copy: %s", msg);
	const struct csv_copy_stats *st = csv_copy_stats(g->c);
	*rejects = st->rejects;
	long long total = st->rows + st->rejects;
	if (st->rejects > 0 && (double)st->rejects * 100.0 > l->o.max_reject_pct * (double)total)
		return load_fail(err, JOB_PERMANENT,
				 "%s: %lld of %lld rows rejected (%.1f %%), more than options.max_reject_pct (%g %%); "
				 "first: %s", g->f->name, st->rejects, total, 100.0 * (double)st->rejects / (double)total,
				 l->o.max_reject_pct, st->first_reject);
	if (st->rejects > 0 && sftp_files_copy_rejects(l->w->lake, l->rejects, l->spool, msg, sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	if (sftp_files_counts(l->w->lake, g->file_id, *landed, *rejects, msg, sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	return 0;
}

/* Lets go of a landing; a COPY still open ends in error (the caller rolls back). */
static void landing_free(struct landing *g)
{
	char msg[512];
	if (!g->l)
		return; /* never began */
	if (g->copying) {
		long long ignored;
		land_copy_end(g->l->w->lake, "extraction failed", &ignored, msg, sizeof msg);
	}
	g->copying = false;
	csv_copy_free(g->c);
	g->c = NULL;
	if (g->l->spool)
		fclose(g->l->spool);
	g->l->spool = NULL;
}

/* Streams one bucket file into LAND (and its rejects); counts in *landed, *rejects. */
static int land_file(struct sftp_load *l, const struct sftp_file *f, const char *path, long long file_id,
		     long long *landed, long long *rejects, struct load_error *err)
{
	struct landing g = {.l = l};
	int rc = -1, fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return load_fail(err, JOB_TRANSIENT, "cannot open %s: %s", path, strerror(errno));
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (landing_begin(&g, l, f, file_id, err) != 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, l->buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			load_fail(err, JOB_TRANSIENT, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0 || landing_feed(&g, l->buf, (size_t)n) != 0)
			break;
		if (worker_should_stop(l->w)) {
			load_fail(err, JOB_CANCELLED, "cancelled while loading %s", f->name);
			goto out;
		}
	}
	rc = landing_finish(&g, landed, rejects, err);
out:
	landing_free(&g);
	close(fd);
	return rc;
}

/* --- download -------------------------------------------------------- */

/* A download that lands as it goes (options.stream): the version is recorded
 * and its rows COPYed inside a savepoint, so a retry, or a file left for
 * later, takes back what it landed. Only the job's first file streams: COPY
 * FREEZE needs LAND's partition made or emptied in the same subtransaction,
 * and it is empty only then. */
struct stream {
	struct landing g;
	long long file_id;
	bool began;            /* inside the savepoint */
};

static int stream_begin(struct sftp_load *l, const struct sftp_file *f, const char *path, struct stream *st,
			struct load_error *err)
{
	char msg[512], sql[400];
	if (db_exec(l->w->lake, st->began ? "ROLLBACK TO SAVEPOINT sftp_stream" : "SAVEPOINT sftp_stream", msg,
		    sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	st->began = true;
	snprintf(sql, sizeof sql, "TRUNCATE %s", l->land_table);
	/* its SHA-256 is known at the end (sftp_files_set_sha, before the savepoint is released) */
	static const char unknown_sha[] = "0000000000000000000000000000000000000000000000000000000000000000";
	if (db_exec(l->w->lake, sql, msg, sizeof msg) != 0 ||
	    sftp_files_record(l->w->lake, l->job->source_id, l->job->id, f, unknown_sha, path, 0, &st->file_id, msg,
			      sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	return landing_begin(&st->g, l, f, st->file_id, err);
}

/* Takes back what an attempt landed. */
static int stream_undo(struct sftp_load *l, struct stream *st, char *msg, size_t msglen)
{
	landing_free(&st->g);
	return st->began ? db_exec(l->w->lake, "ROLLBACK TO SAVEPOINT sftp_stream", msg, msglen) : 0;
}

/* Downloads f into the bucket; with st, its rows land as they arrive. 0 with
 * the final path in `path` (and its sha256), 1 when the file is left for
 * later (vanished, or still changing: with st, nothing of it stays landed),
 * -1 with err filled. */
static int download(struct sftp_load *l, const struct sftp_file *f, char *path, size_t pathlen, char sha[65],
		    struct stream *st, struct load_error *err)
{
	char part[4400], msg[1024];
	enum sftp_status status = SFTP_TRANSIENT;
	int rc = -1, fd = -1;
	long long bytes = 0;

	/* The bucket name: the file's own, unless another loaded version took it. */
	bool taken = false;
	snprintf(path, pathlen, "%s/%s", l->bucket, f->name);
	if (sftp_files_path_taken(l->w->lake, path, &taken, msg, sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	if (taken)
		snprintf(path, pathlen, "%s/v%lld-%lld_%s", l->bucket, f->mtime, f->size, f->name);

	snprintf(part, sizeof part, "%s/.%s.%lld.part", l->bucket, f->name, l->job->id);
	fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return load_fail(err, JOB_TRANSIENT, "cannot create %s: %s", part, strerror(errno));
	for (int attempt = 0;; attempt++) {
		if (st && stream_begin(l, f, path, st, err) != 0)
			goto out;
		status = sftp_download(&l->s, f->name, fd, st ? landing_feed : NULL, st ? &st->g : NULL, &bytes, sha,
				       msg, sizeof msg);
		if (st && l->s.tee_failed) {
			landing_failed(&st->g, err);
			goto out;
		}
		if (status == SFTP_OK) {
			long long size, mtime;
			status = sftp_stat(&l->s, f->name, &size, &mtime, msg, sizeof msg);
			if (status == SFTP_OK && ((size >= 0 && size != f->size) || mtime != f->mtime || bytes != f->size)) {
				log_json(LOG_INFO, "sftp file still changing; left for the next load",
					 json_pack("{s:I, s:s, s:I, s:I, s:I}", "job_id", (json_int_t)l->job->id,
						   "file", f->name, "listed_size", (json_int_t)f->size,
						   "size_now", (json_int_t)size, "bytes_read", (json_int_t)bytes));
				rc = 1;
				goto out;
			}
		}
		if (status == SFTP_OK)
			break;
		if (status == SFTP_GONE) {
			rc = 1; /* removed since the listing */
			goto out;
		}
		if (status != SFTP_TRANSIENT || attempt >= l->o.max_retries) {
			load_fail(err, outcome_of(status), "sftp %s:%d %s, after %d attempt%s: %s", l->o.host, l->o.port,
				  f->name, attempt + 1, attempt ? "s" : "", msg);
			goto out;
		}
		log_json(LOG_WARN, "sftp transfer failed; retrying",
			 json_pack("{s:I, s:s, s:i, s:I, s:s}", "job_id", (json_int_t)l->job->id, "file", f->name,
				   "attempt", attempt + 1, "bytes_read", (json_int_t)bytes, "error", msg));
		if (st)
			landing_free(&st->g); /* the next attempt rolls back to the savepoint */
		if (!backoff(l, attempt)) {
			load_fail(err, JOB_CANCELLED, "cancelled");
			goto out;
		}
	}
	if (fsync(fd) != 0) {
		load_fail(err, JOB_TRANSIENT, "cannot write %s: %s", part, strerror(errno));
		goto out;
	}
	if (rename(part, path) != 0) {
		load_fail(err, JOB_TRANSIENT, "cannot rename %s: %s", part, strerror(errno));
		goto out;
	}
	/* no committed version refers to this path (it was not taken): if the
	 * load rolls back, the file goes too */
	job_track_file(l->w, path);
	int dfd = open(l->bucket, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	close(fd);
	if (rc != 0)
		unlink(part);
	if (rc != 0 && st) {
		bool undone = stream_undo(l, st, msg, sizeof msg) == 0;
		/* left for later: the transaction goes on without this file (after
		 * an error the runner rolls it all back anyway) */
		if (rc == 1 && (!undone || db_exec(l->w->lake, "RELEASE SAVEPOINT sftp_stream", msg, sizeof msg) != 0))
			rc = load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	}
	return rc;
}

/* --- one file -------------------------------------------------------- */

static int load_one(struct sftp_load *l, const struct sftp_file *f, struct load_error *err)
{
	char msg[512], path[4400], sha[65], prev_sha[65];
	long long prev_id, file_id, landed, rejects;
	char *prev_path = NULL;
	int rc = -1;

	if (!l->full) {
		bool seen;
		if (sftp_files_seen(l->w->lake, l->job->source_id, f, &seen, msg, sizeof msg) != 0)
			return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
		if (seen) {
			l->skipped++;
			return 0;
		}
	}
	/* an empty file is most likely one a partner has just created and is
	 * still writing: it waits for the next load instead of failing this one */
	if (f->size == 0 ||
	    (l->o.min_age_seconds > 0 && (long long)time(NULL) - f->mtime < l->o.min_age_seconds)) {
		l->waiting++;
		return 0;
	}
	if (sftp_files_latest(l->w->lake, l->job->source_id, f->name, &prev_id, prev_sha, &prev_path, msg,
			      sizeof msg) != 0)
		return load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
	/* A file never seen (or any, in a full load) lands while it downloads:
	 * there is no earlier version it could turn out to repeat. */
	struct stream st = {0};
	bool streamed = l->o.stream && (l->full || !prev_id) && l->loaded == 0;
	double t0 = now_ms();
	int got = download(l, f, path, sizeof path, sha, streamed ? &st : NULL, err);
	if (got != 0) {
		free(prev_path);
		if (got > 0)
			l->waiting++;
		return got < 0 ? -1 : 0;
	}
	double t1 = now_ms();

	if (streamed) {
		file_id = st.file_id;
		rc = landing_finish(&st.g, &landed, &rejects, err);
		landing_free(&st.g);
		if (rc != 0)
			goto out;
		rc = -1;
		if (sftp_files_set_sha(l->w->lake, file_id, sha, msg, sizeof msg) != 0 ||
		    db_exec(l->w->lake, "RELEASE SAVEPOINT sftp_stream", msg, sizeof msg) != 0) {
			load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
			goto out;
		}
		goto landed;
	}
	if (prev_id && !l->full && strcmp(prev_sha, sha) == 0) {
		/* touched, not changed: remember this version, land nothing */
		unlink(path);
		if (sftp_files_record(l->w->lake, l->job->source_id, l->job->id, f, sha, prev_path, prev_id, &file_id,
				      msg, sizeof msg) != 0) {
			load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
			goto out;
		}
		l->unchanged++;
		rc = 0;
		goto out;
	}
	if (sftp_files_record(l->w->lake, l->job->source_id, l->job->id, f, sha, path, 0, &file_id, msg,
			      sizeof msg) != 0) {
		load_fail(err, JOB_TRANSIENT, "lake: %s", msg);
		goto out;
	}
	if (land_file(l, f, path, file_id, &landed, &rejects, err) != 0)
		goto out;
landed:;
	double t2 = now_ms();
	l->rows += landed;
	l->rejected += rejects;
	l->loaded++;
	char when[32];
	iso_time(f->mtime, when, sizeof when);
	snprintf(l->newest, sizeof l->newest, "%s@%s", f->name, when);
	log_json(LOG_INFO, "sftp file landed",
		 json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:b}", "job_id", (json_int_t)l->job->id, "file",
			   f->name, "bucket_path", path, "bytes", (json_int_t)f->size, "rows", (json_int_t)landed,
			   "rejected", (json_int_t)rejects, "download_ms", (int)(t1 - t0), "land_ms", (int)(t2 - t1),
			   "streamed", streamed));
	rc = 0;
out:
	free(prev_path);
	return rc;
}

static int extract_sftp(struct worker_slot *w, const struct claimed_job *job, json_t *source,
			const char *land_table, struct load_result *res, struct load_error *err)
{
	struct sftp_load l = {.w = w, .job = job, .land_table = land_table};
	struct sftp_file *files = NULL;
	size_t nfiles = 0;
	char msg[1024];
	int rc = -1;
	const char *before = json_string_value(json_object_get(source, "last_offset"));

	l.full = strcmp(job->load_type, "full") == 0;
	if (setup(&l, source, err) != 0)
		goto out;
	for (int attempt = 0;; attempt++) {
		enum sftp_status st = sftp_list(&l.s, &files, &nfiles, msg, sizeof msg);
		if (st == SFTP_OK)
			break;
		if (st != SFTP_TRANSIENT || attempt >= l.o.max_retries) {
			load_fail(err, outcome_of(st), "sftp %s:%d listing %s: %s", l.o.host, l.o.port, l.o.directory, msg);
			goto out;
		}
		if (!backoff(&l, attempt)) {
			load_fail(err, JOB_CANCELLED, "cancelled");
			goto out;
		}
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (worker_should_stop(w)) {
			load_fail(err, JOB_CANCELLED, "cancelled");
			goto out;
		}
		if (load_one(&l, &files[i], err) != 0)
			goto out;
	}
	res->snapshot = false;
	res->rows_read = l.rows + l.rejected;
	res->rows_written = l.rows;
	res->rows_rejected = l.rejected;
	res->rows_estimate = res->rows_read;
	res->offset_after = l.newest[0] ? strdup(l.newest) : before ? strdup(before) : NULL;
	log_json(LOG_INFO, "sftp load listed",
		 json_pack("{s:I, s:I, s:i, s:i, s:i, s:i, s:I, s:I}", "job_id", (json_int_t)job->id, "files",
			   (json_int_t)nfiles, "loaded", l.loaded, "already_loaded", l.skipped, "left_for_later",
			   l.waiting, "unchanged", l.unchanged, "rows", (json_int_t)l.rows, "rejected",
			   (json_int_t)l.rejected));
	rc = 0;
out:
	sftp_files_free(files, nfiles);
	if (l.session_open)
		sftp_close(&l.s);
	free(l.cols);
	free(l.buf);
	json_decref(l.source);
	return rc;
}

const struct source_kind source_kind_sftp = {
	.name = "sftp",
	.offset_modes = OFFSET_FILES,
	.default_offset_mode = OFFSET_FILES,
	.needs_secret = true,
	.secret_option = "private_key_file",
	.keeps_rejects = true,
	.validate_options = sftp_options_validate,
	.extract = extract_sftp,
};
