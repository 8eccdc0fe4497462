/* The statements each lake connection keeps prepared.
 *
 * A request's statements are the same text for every request of one shape
 * (the values are parameters): the session's setup, the catalog's
 * fingerprint, a page's SELECT. Parsing and planning them again each time
 * is waste: PostgreSQL plans a prepared statement's first executions for
 * their values and may then settle on a generic plan. Each connection
 * remembers what it prepared, as libpq instance data freed when the
 * connection closes, under a key of the table's catalog fingerprint (for a
 * page) and the SQL: a table whose columns or types changed gets new
 * statements (PostgreSQL would refuse to run a cached plan whose result
 * type changed). At most STMT_MAX per connection, each of at most
 * STMT_SQL_MAX bytes; the least recently used one is deallocated to make
 * room. */
#include "query/statements.h"

#include <libpq-events.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_MAX 64
#define STMT_SQL_MAX 4096 /* longer SQL (long in-lists...) runs unnamed: bounded memory here and there */

struct stmt {
	char *key;              /* fingerprint "\n" sql; NULL: free slot */
	char name[24];
	unsigned long long used;
};

struct stmt_cache {
	struct stmt s[STMT_MAX];
	unsigned long long clock;
	unsigned long long made;  /* names are never reused on a connection */
};

static void cache_free(struct stmt_cache *sc)
{
	for (int i = 0; sc && i < STMT_MAX; i++)
		free(sc->s[i].key);
	free(sc);
}

static int conn_event(PGEventId evt, void *info, void *arg)
{
	if (evt == PGEVT_CONNDESTROY) {
		PGEventConnDestroy *e = info;
		cache_free(PQinstanceData(e->conn, conn_event));
	}
	return 1;
}

/* This connection's cache, made on first use; NULL when out of memory. */
static struct stmt_cache *cache_of(PGconn *c)
{
	struct stmt_cache *sc = PQinstanceData(c, conn_event);
	if (sc)
		return sc;
	if (!(sc = calloc(1, sizeof *sc)))
		return NULL;
	if (!PQregisterEventProc(c, conn_event, "query_statements", NULL) ||
	    !PQsetInstanceData(c, conn_event, sc)) {
		free(sc);
		return NULL;
	}
	return sc;
}

static char *key_of(const char *fingerprint, const char *sql)
{
	char *key = NULL;
	if (asprintf(&key, "%s\n%s", fingerprint ? fingerprint : "", sql) < 0)
		return NULL;
	return key;
}

static struct stmt *find(struct stmt_cache *sc, const char *key)
{
	for (int i = 0; i < STMT_MAX; i++)
		if (sc->s[i].key && strcmp(sc->s[i].key, key) == 0)
			return &sc->s[i];
	return NULL;
}

/* A free slot, else the least recently used. */
static struct stmt *room(struct stmt_cache *sc)
{
	struct stmt *lru = &sc->s[0];
	for (int i = 0; i < STMT_MAX; i++) {
		if (!sc->s[i].key)
			return &sc->s[i];
		if (sc->s[i].used < lru->used)
			lru = &sc->s[i];
	}
	return lru;
}

int query_statement_steps(PGconn *c, const char *fingerprint, const struct db_step *plain, struct db_step *steps,
			  struct query_statement *st)
{
	*st = (struct query_statement){.prepare_step = -1};
	struct stmt_cache *sc = strlen(plain->sql) <= STMT_SQL_MAX ? cache_of(c) : NULL;
	char *key = sc ? key_of(fingerprint, plain->sql) : NULL;
	int n = 0;
	if (!key) { /* too long, or out of memory: an unnamed statement */
		steps[n++] = *plain;
		return n;
	}
	struct stmt *s = find(sc, key);
	if (s) {
		free(key);
		s->used = ++sc->clock;
		steps[n++] = (struct db_step){.name = s->name, .nparams = plain->nparams, .params = plain->params};
		return n;
	}
	s = room(sc);
	if (s->key) {
		snprintf(st->deallocate, sizeof st->deallocate, "DEALLOCATE %s", s->name);
		steps[n++] = (struct db_step){.sql = st->deallocate};
		free(s->key);
	}
	s->key = key;
	s->used = ++sc->clock;
	snprintf(s->name, sizeof s->name, "query_%llu", ++sc->made);
	st->prepared = s;
	st->prepare_step = n;
	steps[n++] = (struct db_step){.sql = plain->sql, .name = s->name, .prepare = true, .nparams = plain->nparams};
	steps[n++] = (struct db_step){.name = s->name, .nparams = plain->nparams, .params = plain->params};
	return n;
}

void query_statement_done(const struct query_statement *st, PGresult *const *out)
{
	struct stmt *s = st->prepared;
	if (!s || out[st->prepare_step])
		return;
	/* not prepared (the pipeline failed first): forget it */
	free(s->key);
	s->key = NULL;
}
