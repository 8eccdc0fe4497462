/* Whether a key may have been seen before, in a fixed amount of memory (a
 * Bloom filter: KEY_FILTER_BITS bits, three set per key). A key added before
 * always answers "maybe"; one that was not answers "no", or "maybe" now and
 * then (with 200 000 keys about 1 in 20 000; with 1 000 000, 1 in 200), so a
 * caller checks the "maybe"s elsewhere. Used by an API load to list the keys
 * that may have landed twice (jobs/layers/trusted_stage.h). */
#ifndef LAKE_KEY_FILTER_H
#define LAKE_KEY_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#define KEY_FILTER_BITS ((size_t)1 << 24) /* 2 MB */

struct key_filter;

/* NULL when out of memory. */
struct key_filter *key_filter_new(void);
/* Adds a key (its bytes); returns true when it may have been added before. */
bool key_filter_add(struct key_filter *f, const void *key, size_t len);
void key_filter_free(struct key_filter *f);

#endif
