/* SFTP through libcurl (sftp://, libssh2 underneath): one session per
 * load, one SSH connection kept across the listing, the stats and the
 * downloads, opened again after a failure.
 *
 * The server's host key must be the one in options.known_host: it is
 * written to a private known_hosts file for libcurl, and a mismatch is
 * refused (the key callback records both fingerprints for the message).
 * A fingerprint ("SHA256:...") is pinned with libcurl's SHA-256 check. */
#ifndef LAKE_SFTP_FETCH_H
#define LAKE_SFTP_FETCH_H

#include "jobs/sources/sftp/options.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

enum sftp_status {
	SFTP_OK,
	SFTP_TRANSIENT,  /* worth another try: connection lost, timeout, local disk */
	SFTP_PERMANENT,  /* host key refused, login refused, no such directory, access denied */
	SFTP_CANCELLED,  /* should_stop said so */
	SFTP_GONE,       /* the file vanished */
};

struct sftp_file {
	char *name;           /* owned */
	long long size;
	long long mtime;      /* seconds since the epoch, the server's clock */
};

struct sftp_session {
	CURL *curl;
	const struct sftp_options *o;
	char *base_url;       /* sftp://host:port */
	char *dir_path;       /* the escaped directory, ending in '/' */
	char known_hosts[256];/* our temporary known_hosts file ("" = none) */
	char expect[160];     /* the trusted key, for messages: "ssh-ed25519 SHA256:..." */
	char *password, *passphrase;
	bool (*should_stop)(void *ctx);
	void *stop_ctx;
	bool reconnect;       /* the last transfer failed: use a new connection */
	char curl_error[CURL_ERROR_SIZE];
	char key_problem[512];
	char write_problem[256];
	bool tee_failed;      /* the last download stopped because its tee refused the data */
};

/* Resolves the secrets, writes the known_hosts file into tmpdir, prepares
 * the handle. Connecting happens with the first request. */
int sftp_open(struct sftp_session *s, const struct sftp_options *o, const char *tmpdir,
	      bool (*should_stop)(void *), void *stop_ctx, char *err, size_t errlen);
void sftp_close(struct sftp_session *s);

/* The regular files of the directory matching the pattern, each with its
 * exact size and mtime, sorted by mtime then name. *files is malloc'd. */
enum sftp_status sftp_list(struct sftp_session *s, struct sftp_file **files, size_t *n, char *err, size_t errlen);
void sftp_files_free(struct sftp_file *files, size_t n);

/* Size (-1 when the server does not say, as for some empty files) and mtime
 * of one file of the directory. */
enum sftp_status sftp_stat(struct sftp_session *s, const char *name, long long *size, long long *mtime,
			   char *err, size_t errlen);

/* Downloads a file of the directory into fd (from its start); *bytes and
 * sha256_hex (65 bytes) describe what was written. tee (optional) is handed
 * each piece as it arrives; when it returns nonzero the transfer stops
 * (SFTP_TRANSIENT with s->tee_failed set: the tee knows why). */
enum sftp_status sftp_download(struct sftp_session *s, const char *name, int fd,
			       int (*tee)(void *arg, const char *data, size_t len), void *tee_arg, long long *bytes,
			       char sha256_hex[65], char *err, size_t errlen);

#endif
