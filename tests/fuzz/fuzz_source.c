/* Fuzz target: the source-definition validator (control/source_validate.c)
 * and the merge patch of PATCH /v1/sources/{id}, on arbitrary bytes parsed
 * the way the HTTP layer parses a body (jansson, duplicate keys refused).
 *
 * The document is validated as a POST body would be, and applied as a merge
 * patch onto a valid stored source (the README's example) as a PATCH would
 * be. Besides the sanitizers, it checks:
 *  - a refusal names a field and says why, in NUL-terminated UTF-8 text
 *    (both go into the problem+json answer);
 *  - validation is idempotent: a definition it accepted (defaults filled
 *    in) is accepted again unchanged, so a stored row never turns invalid;
 *  - an accepted definition serialises (it is stored as JSON);
 *  - a merged definition never carries the read-only id, created_at or
 *    updated_at (the store sets them).
 * A violated invariant aborts, which libFuzzer reports as a crash. */
#include "tests/fuzz/fuzz.h"
#include "control/source_validate.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char stored[] =
	"{\"id\": 7, \"created_at\": \"2026-11-24T10:00:00Z\", \"updated_at\": \"2026-11-24T10:00:00Z\","
	" \"system\": \"marketplace\", \"source_type\": \"postgresql\", \"database\": \"marketplace\","
	" \"schema\": \"public\", \"object\": \"vendas\", \"load_type\": \"incremental\","
	" \"offset_mode\": \"change_tracking\", \"offset_column\": null, \"last_offset\": null,"
	" \"active\": true, \"connection_secret\": \"env:LAKE_SECRET_MARKETPLACE_URL\","
	" \"project\": null, \"region\": null, \"max_parallel_tasks\": 1, \"options\": {},"
	" \"columns\": [{\"name\": \"id\", \"type\": \"bigint\", \"key\": true},"
	" {\"name\": \"total\", \"type\": \"numeric(14,2)\"}, {\"name\": \"data_venda\", \"type\": \"timestamptz\"}]}";

static bool utf8(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

static void check_refusal(const struct validation_error *ve)
{
	CHECK(memchr(ve->field, 0, sizeof ve->field) && memchr(ve->message, 0, sizeof ve->message));
	CHECK(ve->message[0] != 0); /* the field may be "": a member with an empty name */
	CHECK(utf8(ve->field));
}

/* Validates a copy of `def`; when accepted, validating the result again
 * must accept it unchanged. */
static void validate(const json_t *def)
{
	struct validation_error ve;
	memset(&ve, 0, sizeof ve);
	json_t *copy = json_deep_copy(def);
	if (!copy)
		return;
	if (source_validate(copy, &ve) != 0) {
		check_refusal(&ve);
		json_decref(copy);
		return;
	}
	char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK(text != NULL);
	free(text);
	json_t *again = json_deep_copy(copy);
	CHECK(again != NULL);
	memset(&ve, 0, sizeof ve);
	if (source_validate(again, &ve) != 0) {
		fprintf(stderr, "fuzz_source: accepted once, refused again: %s %s\n", ve.field, ve.message);
		abort();
	}
	CHECK(json_equal(again, copy));
	json_decref(again);
	json_decref(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *current;
	if (!current) {
		current = json_loads(stored, 0, NULL);
		CHECK(current != NULL);
		struct validation_error ve;
		json_t *empty = json_object();
		json_t *base = source_merge_patch(current, empty, &ve);
		CHECK(base && source_validate(base, &ve) == 0); /* the stored row is valid */
		json_decref(base);
		json_decref(empty);
	}
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!doc || !json_is_object(doc)) { /* the HTTP layer answers 400 before validating */
		json_decref(doc);
		return 0;
	}
	validate(doc);

	struct validation_error ve;
	memset(&ve, 0, sizeof ve);
	json_t *merged = source_merge_patch(current, doc, &ve);
	if (!merged) {
		check_refusal(&ve);
	} else {
		CHECK(!json_object_get(merged, "id") && !json_object_get(merged, "created_at") &&
		      !json_object_get(merged, "updated_at"));
		validate(merged);
		json_decref(merged);
	}
	json_decref(doc);
	return 0;
}
