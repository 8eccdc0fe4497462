/* A CSV load typed while it lands (see csv_stage.h). */
#include "jobs/sources/sftp/csv_stage.h"
#include "jobs/layers/layers.h"
#include "jobs/layers/trusted_stage.h"
#include "jobs/sources/copy_typed.h"
#include "lib/dynbuf.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct csv_stage {
	struct trusted_stage *stage;
	long long job_id;
	size_t ncols;
	enum copy_typed_kind *kinds;
	const char **names;          /* the declared columns', for the log */
	struct dynbuf out;           /* binary rows not handed over yet */
	bool spoiled;
};

/* Whether the source's first TRUSTED is still to come and would take a
 * stage as it is. */
static bool wanted(struct worker_slot *w, json_t *source)
{
	char table[160], id[24];
	snprintf(table, sizeof table, "%s_%s", json_string_value(json_object_get(source, "system")),
		 json_string_value(json_object_get(source, "object")));
	char *override = layers_override(w, table, "trusted");
	bool overridden = override != NULL;
	free(override);
	if (overridden || json_array_size(json_object_get(json_object_get(source, "options"), "children")) > 0)
		return false;
	snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(source, "id")));
	const char *params[1] = {id};
	PGresult *r = PQexecParams(w->lake, "SELECT coalesce((SELECT merged_through_job FROM control.layer_state "
				   "WHERE source_id = $1), 0) = 0", 1, NULL, params, NULL, NULL, 0);
	bool never = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return never;
}

static void stage_free(struct csv_stage *s)
{
	free(s->kinds);
	free(s->names);
	dynbuf_free(&s->out);
	free(s);
}

struct csv_stage *csv_stage_begin(struct worker_slot *w, json_t *source, long long job_id, const char *land_table,
				  size_t ncols)
{
	if (!wanted(w, source))
		return NULL;
	struct csv_stage *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->job_id = job_id;
	s->ncols = ncols;
	s->kinds = calloc(ncols + 1, sizeof *s->kinds);
	s->names = calloc(ncols + 1, sizeof *s->names);
	dynbuf_init(&s->out, 0);
	if (!s->kinds || !s->names || !(s->stage = trusted_stage_begin(w, source, job_id, land_table, true))) {
		stage_free(s);
		return NULL;
	}
	const unsigned *oids;
	const int *typmods;
	size_t n = trusted_stage_columns(s->stage, &oids, &typmods);
	const char *why = n == ncols + 2 ? NULL : "columns differ";
	for (size_t i = 0; !why && i < ncols; i++) {
		int k = copy_typed_kind_of(oids[i], typmods[i]);
		s->names[i] = json_string_value(json_object_get(json_array_get(json_object_get(source, "columns"), i), "name"));
		if (k < 0)
			why = "a column's type has no plain form here";
		else
			s->kinds[i] = (enum copy_typed_kind)k;
	}
	if (why || copy_typed_add_header(&s->out) != COPY_TYPED_OK) {
		log_json(LOG_INFO, "no typed copy beside LAND; TRUSTED types RAW's rows",
			 json_pack("{s:I, s:s}", "job_id", (json_int_t)job_id, "reason", why ? why : "out of memory"));
		trusted_stage_end(s->stage, false, 0);
		stage_free(s);
		return NULL;
	}
	return s;
}

void csv_stage_spoil(struct csv_stage *s, const char *why)
{
	if (!s || s->spoiled)
		return;
	s->spoiled = true;
	log_json(LOG_INFO, "typed copy beside LAND given up; TRUSTED types RAW's rows",
		 json_pack("{s:I, s:s}", "job_id", (json_int_t)s->job_id, "reason", why));
}

/* The field at *p (up to a tab or `end`); moves *p past its tab. */
static const char *next_field(const char **p, const char *end, size_t *n)
{
	const char *f = *p, *tab = memchr(f, '\t', (size_t)(end - f));
	const char *stop = tab ? tab : end;
	*n = (size_t)(stop - f);
	*p = tab ? tab + 1 : end;
	return f;
}

/* One row (no newline) as a binary tuple: the declared columns typed, then
 * _job_id and _change_version. */
static int type_row(struct csv_stage *s, const char *p, const char *end, char *why, size_t whylen)
{
	size_t n, mark = s->out.len;
	int rc = copy_typed_add_count(&s->out, (int)s->ncols + 2);
	for (size_t i = 0; rc == COPY_TYPED_OK && i < s->ncols; i++) {
		const char *f = next_field(&p, end, &n);
		if ((rc = copy_typed_add(&s->out, s->kinds[i], f, n)) == COPY_TYPED_NO)
			snprintf(why, whylen, "a value of column %s is not in a plain form of its type", s->names[i]);
	}
	const char *version = next_field(&p, end, &n);
	size_t version_len = n;
	const char *op = next_field(&p, end, &n);
	if (rc == COPY_TYPED_OK && !(n == 1 && (op[0] == 'U' || op[0] == 'I'))) {
		snprintf(why, whylen, "a row is not an upsert");
		rc = COPY_TYPED_NO;
	}
	if (rc == COPY_TYPED_OK)
		rc = copy_typed_add_int8(&s->out, s->job_id);
	if (rc == COPY_TYPED_OK && (rc = copy_typed_add(&s->out, COPY_TYPED_INT8, version, version_len)) == COPY_TYPED_NO)
		snprintf(why, whylen, "a row's change version is not a number");
	if (rc == COPY_TYPED_NOMEM)
		snprintf(why, whylen, "out of memory");
	if (rc != COPY_TYPED_OK)
		s->out.len = mark;
	return rc;
}

void csv_stage_rows(struct csv_stage *s, const char *data, size_t len)
{
	if (!s || s->spoiled)
		return;
	const char *p = data, *end = data + len;
	char why[200];
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *row_end = nl ? nl : end;
		if (type_row(s, p, row_end, why, sizeof why) != COPY_TYPED_OK) {
			csv_stage_spoil(s, why);
			return;
		}
		p = nl ? nl + 1 : end;
	}
	trusted_stage_put(s->stage, s->out.data, s->out.len);
	s->out.len = 0;
}

bool csv_stage_end(struct csv_stage *s, bool keep, long long land_rows)
{
	if (!s)
		return false;
	keep = keep && !s->spoiled && copy_typed_add_trailer(&s->out) == COPY_TYPED_OK;
	if (keep)
		trusted_stage_put(s->stage, s->out.data, s->out.len);
	bool kept = trusted_stage_end(s->stage, keep, land_rows);
	stage_free(s);
	return kept;
}
