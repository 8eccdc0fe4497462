/* A Bloom filter of keys (see key_filter.h). */
#include "lib/key_filter.h"

#include <stdint.h>
#include <stdlib.h>

struct key_filter {
	uint64_t bits[KEY_FILTER_BITS / 64];
};

struct key_filter *key_filter_new(void)
{
	return calloc(1, sizeof(struct key_filter));
}

/* FNV-1a, 64 bits */
static uint64_t fnv1a(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

bool key_filter_add(struct key_filter *f, const void *key, size_t len)
{
	uint64_t h = fnv1a(key, len);
	/* three positions from one hash (Kirsch and Mitzenmacher): h1 + i * h2 */
	uint64_t h1 = h & 0xffffffffu, h2 = (h >> 32) | 1;
	bool seen = true;
	for (uint64_t i = 0; i < 3; i++) {
		size_t bit = (size_t)((h1 + i * h2) % KEY_FILTER_BITS);
		uint64_t mask = (uint64_t)1 << (bit % 64);
		if (!(f->bits[bit / 64] & mask)) {
			seen = false;
			f->bits[bit / 64] |= mask;
		}
	}
	return seen;
}

void key_filter_free(struct key_filter *f)
{
	free(f);
}
