/* What the fuzz targets share: CHECK(cond) aborts with the condition and
 * its place when an invariant does not hold, which libFuzzer reports as a
 * crash and keeps the input of. (assert() would vanish under NDEBUG.) */
#ifndef LAKE_FUZZ_H
#define LAKE_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                              \
		}                                                                             \
	} while (0)

/* libFuzzer's entry point, declared for -Wmissing-prototypes. */
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
