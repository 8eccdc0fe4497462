/* base64 through libcrypto's EVP_EncodeBlock/EVP_DecodeBlock; base64url is
 * the same alphabet with '-' and '_' for '+' and '/', without padding. */
#include "lib/base64.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

char *base64url_encode(const unsigned char *data, size_t len)
{
	if (len > (size_t)INT32_MAX / 4 * 3)
		return NULL;
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = 0;
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* Decodes `n` characters of padded standard base64 (n % 4 == 0). */
static unsigned char *decode_padded(const char *b64, size_t n, size_t *len)
{
	if (n > INT32_MAX)
		return NULL;
	unsigned char *out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	int k = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (k < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
		k--;
	*len = (size_t)k;
	return out;
}

unsigned char *base64url_decode(const char *text, size_t *len)
{
	size_t n = strlen(text);
	if (n % 4 == 1 || strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
		return NULL;
	char *padded = malloc(n + 4);
	if (!padded)
		return NULL;
	size_t i;
	for (i = 0; i < n; i++)
		padded[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
	while (i % 4)
		padded[i++] = '=';
	padded[i] = 0;
	unsigned char *out = decode_padded(padded, i, len);
	free(padded);
	return out;
}

unsigned char *base64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text);
	if (n % 4 || strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
		return NULL;
	return decode_padded(text, n, len);
}
