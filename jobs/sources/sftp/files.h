/* The lake side of sftp loads, all SQL in one place: control.files (which
 * versions of which files were loaded; sql/migrations/0006_files.sql), the
 * LAND columns of file rows (_file, _line) and the rejects table
 * land.<system>_<object>_rejects. Everything runs in the runner's open
 * lake transaction. */
#ifndef LAKE_SFTP_FILES_H
#define LAKE_SFTP_FILES_H

#include "jobs/sources/sftp/fetch.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

/* Adds _file and _line to LAND and creates the rejects table; its quoted
 * name goes to `rejects`. */
int sftp_files_prepare(PGconn *lake, json_t *source, const char *land_table, char *rejects, size_t rejectslen,
		       char *err, size_t errlen);

/* true when this version (name, size, mtime) of a file was loaded already. */
int sftp_files_seen(PGconn *lake, long long source_id, const struct sftp_file *f, bool *seen, char *err,
		    size_t errlen);

/* The newest loaded version of `name`: *id = 0 when none; its sha256 (65
 * bytes) and bucket path (malloc'd into *path). */
int sftp_files_latest(PGconn *lake, long long source_id, const char *name, long long *id, char *sha256,
		      char **path, char *err, size_t errlen);

/* true when a loaded file already has this bucket path. */
int sftp_files_path_taken(PGconn *lake, const char *bucket_path, bool *taken, char *err, size_t errlen);

/* Records a loaded version (again, on a full reload); *id is its row. */
int sftp_files_record(PGconn *lake, long long source_id, long long job_id, const struct sftp_file *f,
		      const char *sha256, const char *bucket_path, long long same_as, long long *id, char *err,
		      size_t errlen);

/* The SHA-256 of a version recorded before its download ended (streamed). */
int sftp_files_set_sha(PGconn *lake, long long id, const char *sha256, char *err, size_t errlen);

/* Stores the counts of a version's rows once they landed. */
int sftp_files_counts(PGconn *lake, long long id, long long landed, long long rejected, char *err, size_t errlen);

/* COPYs the reject rows spooled in `spool` (COPY text of file, line, raw,
 * reason) into the rejects table. */
int sftp_files_copy_rejects(PGconn *lake, const char *rejects, FILE *spool, char *err, size_t errlen);

#endif
