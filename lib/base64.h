/* base64 and base64url (RFC 4648) on top of libcrypto's codec. */
#ifndef LAKE_BASE64_H
#define LAKE_BASE64_H

#include <stddef.h>

/* base64url without padding; malloc'd text, NULL when out of memory. */
char *base64url_encode(const unsigned char *data, size_t len);
/* Decodes base64url without padding; malloc'd bytes and *len, or NULL when
 * the text is not base64url (any other character, padding, a bad length). */
unsigned char *base64url_decode(const char *text, size_t *len);
/* Decodes standard base64 with optional padding; NULL when it is not. */
unsigned char *base64_decode(const char *text, size_t *len);

#endif
