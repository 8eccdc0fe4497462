/* The options of an sftp source (source.options), checked and read.
 *
 *   host, port (22), user             the SFTP server and the login
 *   private_key_file                  absolute path of a private key the server can read
 *   passphrase_secret                 secret reference to that key's passphrase
 *   password_secret                   secret reference to a password (else connection_secret)
 *   known_host                        the server's host key, "ssh-ed25519 AAAA..." (a line of
 *                                     known_hosts works too) or "SHA256:<base64>"; required:
 *                                     no host key is ever accepted on trust
 *   directory, pattern ("*")          where the files are, and which (fnmatch glob)
 *   delimiter (","), quote ("\""), header (true), encoding ("utf-8" | "latin-1" |
 *   "windows-1252"), decimal_comma (false), date_format (e.g. "DD/MM/YYYY")
 *                                     the CSV dialect
 *   max_reject_pct (10)               more rejected rows than this in a file fails the load
 *   min_age_seconds (0)               files modified more recently wait for the next load
 *   max_retries (3), timeout_seconds (60)
 *                                     a cut transfer is retried; a stalled one times out
 *   stream (true)                     a new file lands while it downloads; false: it is
 *                                     downloaded whole into the bucket first, then landed
 * Authentication needs a private key or a password (password_secret or
 * connection_secret); with both, the key is tried first. */
#ifndef LAKE_SFTP_OPTIONS_H
#define LAKE_SFTP_OPTIONS_H

#include "jobs/sources/sftp/csv_copy.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct sftp_options {
	const char *host;              /* the strings point into the source's JSON */
	int port;
	const char *user;
	const char *private_key_file;  /* NULL = none */
	const char *passphrase_secret;
	const char *password_secret;   /* options.password_secret, else connection_secret */
	const char *known_host;
	const char *directory;
	const char *pattern;
	struct csv_dialect dialect;
	double max_reject_pct;
	int min_age_seconds;
	int max_retries;
	int timeout_seconds;
	bool stream;
};

/* Checks source.options of an sftp source and fills in the defaults. 0, or
 * -1 with the offending field ("options.known_host") and the problem. */
int sftp_options_validate(json_t *source, char *field, size_t fieldlen, char *msg, size_t msglen);

/* Validates (as above) and reads the options. `o` points into `source`,
 * which must outlive it. */
int sftp_options_read(json_t *source, struct sftp_options *o, char *field, size_t fieldlen, char *msg,
		      size_t msglen);

/* Splits a known_host value: either a key (*type = "ssh-ed25519", *key =
 * its base64, each NUL-terminated in the buffers) or a fingerprint (*type =
 * "SHA256", *key = its base64 without padding). -1 when it is neither. */
int sftp_known_host_parse(const char *value, char *type, size_t typelen, char *key, size_t keylen);

#endif
