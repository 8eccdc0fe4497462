// The query API over TRUSTED and REFINED: GET /v1/tables (the list) and
// GET /v1/tables/{layer}/{table} (rows). Tables are made with SQL as the
// owner role `lake` after the server started (so the migrations' default
// privileges grant lake_reader SELECT), and every answer is checked against
// the spec and against the same question asked of PostgreSQL directly:
// filters, select, order, keyset pages walked to the end, CSV quoting and
// full exports, hostile input, every documented error, and the memory of a
// 200 000-row CSV export.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { Lake, READER_TOKEN } from './lib/harness.mjs';
import { assertMatchesSpec } from './lib/spec.mjs';

const LIST = '/v1/tables';
const ROWS = '/v1/tables/{layer}/{table}';
const VENDAS_ROWS = 20_000;
const BIG_ROWS = 200_000;

let lake;
let srv;

// --- the data ------------------------------------------------------------

// Every kind of value the formats must carry: numeric, timestamptz, text with
// commas, quotes, newlines, unicode and edge spaces, booleans, char(2), jsonb,
// double precision with NaN and Infinity, and NULLs in most columns.
const SETUP = `
SET ROLE lake;
CREATE TABLE trusted.t_vendas (
  id bigint PRIMARY KEY,
  total numeric(12,2),
  data timestamptz NOT NULL,
  descricao text,
  ativo boolean,
  uf char(2),
  loja_id integer,
  extra jsonb,
  nota double precision
);
INSERT INTO trusted.t_vendas
SELECT g,
       CASE WHEN g % 17 = 0 THEN NULL ELSE round((g * 7.31) % 1000, 2) END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '37 minutes',
       CASE g % 7
         WHEN 0 THEN NULL
         WHEN 1 THEN 'produto, com vírgula ' || g
         WHEN 2 THEN 'diz "olá" ' || g
         WHEN 3 THEN E'linha 1\\nlinha 2 ' || g
         WHEN 4 THEN 'ünïcødé ✓ 日本 ' || g
         WHEN 5 THEN ' espaço ' || g
         ELSE 'simples ' || g END,
       CASE g % 3 WHEN 0 THEN true WHEN 1 THEN false END,
       (ARRAY['SP','RJ','MG','BA','RS'])[1 + g % 5],
       CASE WHEN g % 11 = 0 THEN NULL ELSE g % 13 END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('g', g, 's', 'x"y') END,
       CASE WHEN g = 3 THEN 'NaN'::float8 WHEN g = 4 THEN 'Infinity' ELSE g / 4.0 END
FROM generate_series(1, ${VENDAS_ROWS}) g;
UPDATE trusted.t_vendas SET descricao = '' WHERE id = ${VENDAS_ROWS};
-- a composite key declared in another order than the columns
CREATE TABLE trusted.t_itens (linha int, venda_id bigint REFERENCES trusted.t_vendas, qtd int NOT NULL,
                              PRIMARY KEY (venda_id, linha));
INSERT INTO trusted.t_itens SELECT l, v, v * l FROM generate_series(1, 50) v, generate_series(1, 3) l;
-- partitioned: the parent is listed, its partitions are not
CREATE TABLE trusted.t_part (id int, dia date NOT NULL, v text) PARTITION BY RANGE (dia);
CREATE TABLE trusted.t_part_2024 PARTITION OF trusted.t_part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE trusted.t_part_2025 PARTITION OF trusted.t_part FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO trusted.t_part SELECT g, date '2024-06-01' + g, 'v' || g FROM generate_series(1, 400) g;
-- the reader may not read this one
CREATE TABLE trusted.t_segredo (id int PRIMARY KEY, senha text);
INSERT INTO trusted.t_segredo VALUES (1, 'hunter2');
REVOKE SELECT ON trusted.t_segredo FROM lake_reader;
-- hostile column names, and a json column (no ordering)
CREATE TABLE refined.t_estranho (id int PRIMARY KEY, "a,b" int, "x.desc" text, """q""" text, "ç" text, doc json);
INSERT INTO refined.t_estranho
SELECT g, g % 4, 'x' || g, CASE WHEN g % 2 = 0 THEN 'par' END, 'ç' || g, json_build_object('g', g)
FROM generate_series(1, 30) g;
-- a view (no key) and a materialized view
CREATE VIEW refined.v_vendas AS SELECT id, uf, total FROM trusted.t_vendas WHERE id <= 3000;
CREATE MATERIALIZED VIEW refined.mv_uf AS
  SELECT uf, count(*) AS n, sum(total) AS soma FROM trusted.t_vendas GROUP BY uf;
-- LAND and RAW tables that exist but are not the query API's
CREATE TABLE land.t_land (id text);
CREATE TABLE raw.t_raw (id text);
RESET ROLE;
INSERT INTO control.table_refresh (layer, table_name, refreshed_at)
VALUES ('refined', 'mv_uf', '2026-01-02 03:04:05+00');
ANALYZE trusted.t_vendas, trusted.t_itens, trusted.t_part, refined.mv_uf;
`;

// The big table of the memory test: ~330 bytes per CSV line, ~65 MB in all.
const SETUP_BIG = `
SET ROLE lake;
CREATE TABLE trusted.t_grande (id bigint PRIMARY KEY, a text, b text, c numeric, d timestamptz);
INSERT INTO trusted.t_grande
SELECT g, md5(g::text), repeat('x', 250) || g, g * 1.5, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
FROM generate_series(1, ${BIG_ROWS}) g;
`;

before(async () => {
  lake = await Lake.create('tables');
  srv = await lake.startServer();
  await lake.sql(SETUP);
});

after(async () => {
  await lake?.close();
});

// --- helpers ---------------------------------------------------------------

// SQL in the lake, in the server's time zone (its sessions use UTC).
const sql = (text) => lake.sql(`SET TimeZone = 'UTC'; ${text}`);

// A JSON value computed by PostgreSQL (json_agg...): null when no rows.
async function sqlJson(text) {
  const out = await sql(text);
  return out === '' ? null : JSON.parse(out);
}

// The ids of trusted.t_vendas matching a WHERE, in an ORDER.
async function sqlIds(where = 'true', order = 'id') {
  return (await sqlJson(`SELECT json_agg(id ORDER BY ${order}) FROM trusted.t_vendas WHERE ${where}`)) ?? [];
}

// GET rows of a table, checked against the spec. query: an object or an
// array of [name, value] pairs (a name may repeat).
function rows(table, query, status = 200, { layer = 'trusted', ...opts } = {}) {
  return srv.call('GET', ROWS, status, { params: { layer, table }, query, token: 'reader', ...opts });
}

// GET an already-built path (a next link), checked against the spec.
async function follow(path, status = 200, opts = {}) {
  const res = await srv.request('GET', path, { token: 'reader', ...opts });
  assertMatchesSpec('GET', ROWS, status, res);
  return res;
}

// Walks every page from the first request, checking that Link and next
// agree on each; returns all items and the number of pages.
async function walk(table, query, { layer = 'trusted', maxPages = 100 } = {}) {
  let res = await rows(table, query, 200, { layer });
  const items = [];
  for (let pages = 1; ; pages++) {
    items.push(...res.body.items);
    const { next } = res.body;
    if (next === null) {
      assert.equal(res.headers.get('link'), null, 'no Link on the last page');
      return { items, pages };
    }
    assert.equal(res.headers.get('link'), `<${next}>; rel="next"`, 'Link equals next');
    assert.ok(pages < maxPages, `more than ${maxPages} pages`);
    res = await follow(next);
  }
}

const ids = (items) => items.map((r) => r.id);

function assertNoDuplicates(list, what) {
  assert.equal(new Set(list).size, list.length, `${what}: duplicates`);
}

// A problem naming a field (and detail mentioning something).
function assertField(res, field, detail) {
  assert.equal(res.body.field, field, `field of ${res.text}`);
  if (detail) assert.match(res.body.detail, detail);
}

// RFC 4180: returns the records as arrays of fields; also checks that the
// text ends with CRLF and that every line break between records is CRLF.
function parseCsv(text) {
  const out = [];
  let row = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
      continue;
    }
    if (ch === '"') {
      assert.equal(field, '', `a quote inside an unquoted field at ${i}`);
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') {
      row.push(wasQuoted ? { q: field } : field);
      field = '';
      wasQuoted = false;
    } else if (ch === '\r') {
      assert.equal(text[i + 1], '\n', `CR without LF at ${i}`);
    } else if (ch === '\n') {
      assert.equal(text[i - 1], '\r', `LF without CR at ${i}`);
      row.push(wasQuoted ? { q: field } : field);
      out.push(row);
      row = [];
      field = '';
      wasQuoted = false;
    } else field += ch;
  }
  assert.equal(quoted, false, 'unterminated quoted field');
  assert.ok(row.length === 0 && field === '', 'the last record ends with CRLF');
  return out;
}

// A field's value, and whether it was quoted (NULL is an unquoted empty field).
const csvValue = (f) => (typeof f === 'object' ? f.q : f === '' ? null : f);

// The fields of a cursor (opaque to clients, but the tests may forge one).
function decodeCursor(c) {
  return JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
}
const encodeCursor = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const cursorOf = (next) => new URL(next, 'http://x').searchParams.get('after');

// --- GET /v1/tables ----------------------------------------------------------

describe('GET /v1/tables', () => {
  test('lists what the reader may read, with columns, types, keys and kinds', async () => {
    const res = await srv.call('GET', LIST, 200, { token: 'reader' });
    const names = res.body.items.map((t) => `${t.layer}.${t.name}`);
    assert.deepEqual(names, [
      'trusted.t_itens', 'trusted.t_part', 'trusted.t_vendas',
      'refined.mv_uf', 'refined.t_estranho', 'refined.v_vendas',
    ], 'TRUSTED first, by name; no partitions, no unreadable table, nothing of LAND or RAW');
    const by = Object.fromEntries(res.body.items.map((t) => [t.name, t]));

    const v = by.t_vendas;
    assert.equal(v.kind, 'table');
    assert.deepEqual(v.primary_key, ['id']);
    assert.deepEqual(v.columns, [
      { name: 'id', type: 'bigint', nullable: false },
      { name: 'total', type: 'numeric(12,2)', nullable: true },
      { name: 'data', type: 'timestamp with time zone', nullable: false },
      { name: 'descricao', type: 'text', nullable: true },
      { name: 'ativo', type: 'boolean', nullable: true },
      { name: 'uf', type: 'character(2)', nullable: true },
      { name: 'loja_id', type: 'integer', nullable: true },
      { name: 'extra', type: 'jsonb', nullable: true },
      { name: 'nota', type: 'double precision', nullable: true },
    ]);
    assert.equal(v.row_estimate, VENDAS_ROWS, 'analysed: the estimate is the count');
    assert.equal(v.last_refresh, null);

    assert.deepEqual(by.t_itens.primary_key, ['venda_id', 'linha'], 'key order, not column order');
    assert.deepEqual(by.t_itens.columns.map((c) => [c.name, c.nullable]), [['linha', false], ['venda_id', false], ['qtd', false]]);
    assert.equal(by.t_part.kind, 'partitioned_table');
    assert.equal(by.t_part.row_estimate, 400, 'the sum of the partitions');
    assert.deepEqual(by.t_part.primary_key, []);
    assert.equal(by.v_vendas.kind, 'view');
    assert.equal(by.v_vendas.row_estimate, null);
    assert.deepEqual(by.v_vendas.primary_key, []);
    assert.equal(by.mv_uf.kind, 'materialized_view');
    assert.equal(by.mv_uf.row_estimate, 5);
    assert.equal(Date.parse(by.mv_uf.last_refresh), Date.parse('2026-01-02T03:04:05Z'), 'control.table_refresh');
    assert.deepEqual(by.t_estranho.columns.map((c) => c.name), ['id', 'a,b', 'x.desc', '"q"', 'ç', 'doc']);
  });

  test('?layer= filters; a bad layer or an unknown parameter is 400 naming it', async () => {
    const refined = await srv.call('GET', LIST, 200, { token: 'reader', query: { layer: 'refined' } });
    assert.deepEqual(refined.body.items.map((t) => t.name), ['mv_uf', 't_estranho', 'v_vendas']);
    assert.ok(refined.body.items.every((t) => t.layer === 'refined'));
    const trusted = await srv.call('GET', LIST, 200, { token: 'reader', query: { layer: 'trusted' } });
    assert.deepEqual(trusted.body.items.map((t) => t.name), ['t_itens', 't_part', 't_vendas']);
    for (const layer of ['land', 'raw', 'control', 'public', 'TRUSTED', '']) {
      assertField(await srv.call('GET', LIST, 400, { token: 'reader', query: { layer } }), 'layer');
    }
    assertField(await srv.call('GET', LIST, 400, { token: 'reader', query: { schema: 'trusted' } }), 'schema');
  });

  test('a table whose SELECT is revoked from lake_reader is not listed; granted again, it is', async () => {
    await lake.sql('SET ROLE lake; CREATE TABLE trusted.t_tmp (id int); REVOKE SELECT ON trusted.t_tmp FROM lake_reader');
    try {
      const res = await srv.call('GET', LIST, 200, { token: 'reader', query: { layer: 'trusted' } });
      assert.ok(!res.body.items.some((t) => t.name === 't_tmp'));
      await lake.sql('GRANT SELECT ON trusted.t_tmp TO lake_reader');
      const again = await srv.call('GET', LIST, 200, { token: 'reader', query: { layer: 'trusted' } });
      assert.ok(again.body.items.some((t) => t.name === 't_tmp'));
    } finally {
      await lake.sql('DROP TABLE trusted.t_tmp');
    }
  });
});

// --- rows as JSON -------------------------------------------------------------

describe('GET /v1/tables/{layer}/{table}: JSON', () => {
  test('the first page: 100 rows by primary key, typed values, next = Link', async () => {
    const res = await rows('t_vendas');
    assert.equal(res.body.items.length, 100);
    assert.deepEqual(ids(res.body.items), await sqlIds('id <= 100'));
    assert.ok(res.body.next.startsWith('/v1/tables/trusted/t_vendas?after='), res.body.next);
    assert.equal(res.headers.get('link'), `<${res.body.next}>; rel="next"`);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('vary'), 'Accept, Accept-Encoding');
    // what PostgreSQL holds, as the API promises to write it
    const expected = await sqlJson(`SELECT json_agg(json_build_object(
        'id', id, 'total', total, 'data', data::text, 'descricao', descricao, 'ativo', ativo, 'uf', uf,
        'loja_id', loja_id, 'extra', extra,
        'nota', CASE WHEN nota::text IN ('NaN', 'Infinity', '-Infinity') THEN to_json(nota::text) ELSE to_json(nota) END)
      ORDER BY id) FROM trusted.t_vendas WHERE id <= 100`);
    assert.deepEqual(res.body.items, expected);
    const [r1, , r3, r4] = res.body.items;
    assert.deepEqual(r1, {
      id: 1, total: 7.31, data: '2024-01-01 00:37:00+00', descricao: 'produto, com vírgula 1', ativo: false, uf: 'RJ',
      loja_id: 1, extra: { g: 1, s: 'x"y' }, nota: 0.25,
    });
    assert.equal(r3.descricao, 'linha 1\nlinha 2 3');
    assert.equal(r3.nota, 'NaN');
    assert.equal(r4.nota, 'Infinity');
    assert.equal(res.body.items[16].total, null, 'NULL numeric (id 17)');
    assert.equal(res.body.items[6].descricao, null, 'NULL text (id 7)');
  });

  test('select picks columns in its order; quoted names hold commas, dots and quotes', async () => {
    const res = await rows('t_vendas', { select: 'uf,id,ativo', limit: 3 });
    assert.deepEqual(res.body.items, [{ uf: 'RJ', id: 1, ativo: false }, { uf: 'MG', id: 2, ativo: null }, { uf: 'BA', id: 3, ativo: true }]);
    assert.deepEqual(Object.keys(res.body.items[0]), ['uf', 'id', 'ativo'], 'key order is select order');
    assert.ok(res.body.next.includes('select=uf,id,ativo&limit=3&after='), res.body.next);
    const all = await rows('t_vendas', { select: '*', limit: 1 });
    assert.equal(Object.keys(all.body.items[0]).length, 9);

    const odd = await rows('t_estranho', { select: '"a,b",x.desc,"\\"q\\"",ç', order: '"x.desc".desc', limit: 2 }, 200, { layer: 'refined' });
    assert.deepEqual(odd.body.items, [{ 'a,b': 1, 'x.desc': 'x9', '"q"': null, ç: 'ç9' }, { 'a,b': 0, 'x.desc': 'x8', '"q"': 'par', ç: 'ç8' }]);
    const f = await rows('t_estranho', [['a,b', 'eq.3'], ['"q"', 'is.null'], ['x.desc', 'like.x1*'], ['select', 'id']], 200, { layer: 'refined' });
    assert.deepEqual(ids(f.body.items), [11, 15, 19]);
  });

  test('every operator returns what the same WHERE returns in SQL', async () => {
    const cases = [
      [[['total', 'eq.7.31']], 'total = 7.31'],
      [[['total', 'neq.7.31']], 'total <> 7.31'],
      [[['total', 'gt.990']], 'total > 990'],
      [[['total', 'gte.990.68']], 'total >= 990.68'],
      [[['total', 'lt.5']], 'total < 5'],
      [[['total', 'lte.5.11']], 'total <= 5.11'],
      [[['id', 'gt.19990']], 'id > 19990'],
      [[['nota', 'gte.4999.5']], 'nota >= 4999.5'],
      [[['data', 'gte.2024-06-01T00:00:00+00:00'], ['data', 'lt.2024-06-02T00:00:00+00:00']],
        "data >= '2024-06-01T00:00:00+00:00' AND data < '2024-06-02T00:00:00+00:00'"],
      [[['data', 'eq.2024-01-01 00:37:00+00']], "data = '2024-01-01 00:37:00+00'"],
      [[['uf', 'eq.SP']], "uf = 'SP'"],
      [[['uf', 'in.(SP,RJ)']], "uf IN ('SP', 'RJ')"],
      [[['uf', 'neq.SP'], ['loja_id', 'lte.2']], "uf <> 'SP' AND loja_id <= 2"],
      [[['descricao', 'eq.ünïcødé ✓ 日本 4']], "descricao = 'ünïcødé ✓ 日本 4'"],
      [[['descricao', 'eq. espaço 5']], "descricao = ' espaço 5'"],
      [[['descricao', 'eq.']], "descricao = ''"],
      [[['descricao', 'in.("produto, com vírgula 1","diz \\"olá\\" 2",nada)']], `descricao IN ('produto, com vírgula 1', 'diz "olá" 2', 'nada')`],
      [[['descricao', 'like.*vírgula 1*']], "descricao LIKE '%vírgula 1%'"],
      [[['descricao', 'like.diz "ol*']], `descricao LIKE 'diz "ol%'`],
      [[['descricao', 'ilike.*DIZ "OL*9']], `descricao ILIKE '%DIZ "OL%9'`],
      [[['descricao', 'like.linha 1\nlinha 2 1*']], "descricao LIKE E'linha 1\\nlinha 2 1%'"],
      [[['descricao', 'like.*\\%*']], "descricao LIKE '%\\%%'"],
      [[['uf', 'ilike.s*']], "uf::text ILIKE 's%'"],
      [[['extra', 'like.*"g": 12,*']], `extra::text LIKE '%"g": 12,%'`],
      [[['data', 'like.2024-01-02*']], "data::text LIKE '2024-01-02%'"],
      [[['loja_id', 'is.null']], 'loja_id IS NULL'],
      [[['loja_id', 'is.not_null'], ['loja_id', 'in.(1,2)']], 'loja_id IS NOT NULL AND loja_id IN (1, 2)'],
      [[['ativo', 'is.true']], 'ativo IS TRUE'],
      [[['ativo', 'is.FALSE']], 'ativo IS FALSE'],
      [[['ativo', 'is.null'], ['total', 'is.null']], 'ativo IS NULL AND total IS NULL'],
      [[['ativo', 'eq.true'], ['uf', 'eq.BA']], "ativo = true AND uf = 'BA'"],
      [[['id', 'in.()']], 'false'],
      [[['extra', 'eq.{"g": 7, "s": "x\\"y"}']], `extra = '{"g": 7, "s": "x\\"y"}'`],
      [[['extra', 'eq.{"s":"x\\"y","g":6}']], `extra = '{"g": 6, "s": "x\\"y"}'`],
    ];
    for (const [query, where] of cases) {
      const expected = await sqlIds(where);
      const { items } = await walk('t_vendas', [...query, ['select', 'id'], ['limit', '10000']]);
      assert.deepEqual(ids(items), expected, `${JSON.stringify(query)} vs WHERE ${where}`);
    }
    // the interesting ones are not vacuous
    assert.equal((await sqlIds("uf = 'SP'")).length, VENDAS_ROWS / 5);
    assert.deepEqual(await sqlIds(`descricao IN ('produto, com vírgula 1', 'diz "olá" 2', 'nada')`), [1, 2]);
  });

  test('order: asc, desc and mixed, NULLs last ascending and first descending, then the key', async () => {
    const cases = [
      ['total.desc', 'total DESC, id'],
      ['total', 'total ASC, id'],
      ['uf.asc,data.desc', 'uf, data DESC, id'],
      ['loja_id.desc,ativo.asc,id.desc', 'loja_id DESC, ativo ASC, id DESC'],
      ['descricao.desc', 'descricao DESC, id'],
      ['extra', 'extra, id'],
      ['nota.desc', 'nota DESC, id'],
    ];
    for (const [order, sqlOrder] of cases) {
      const res = await rows('t_vendas', { select: 'id', order, limit: 60 });
      const expected = (await sqlIds('true', sqlOrder)).slice(0, 60);
      assert.deepEqual(ids(res.body.items), expected, `order=${order}`);
    }
    const first = await rows('t_vendas', { select: 'id,total', order: 'total.desc', limit: 1 });
    assert.equal(first.body.items[0].total, null, 'NULL first descending');
    const itens = await rows('t_itens', { select: 'venda_id,linha', limit: 4 });
    assert.deepEqual(itens.body.items, [{ venda_id: 1, linha: 1 }, { venda_id: 1, linha: 2 }, { venda_id: 1, linha: 3 }, { venda_id: 2, linha: 1 }], 'by the composite key, in key order');
  });
});

// --- keyset pages --------------------------------------------------------------

describe('keyset pagination walks every row once', () => {
  test('by primary key (1000 rows a page: cursor batches)', async () => {
    const { items, pages } = await walk('t_vendas', { select: 'id,uf', limit: 1000 });
    assert.equal(pages, 20);
    assert.deepEqual(ids(items), await sqlIds());
  });

  test('nullable keys in mixed directions (777 a page), with a filter whose value needs encoding', async () => {
    const { items, pages } = await walk('t_vendas', [
      ['select', 'id,loja_id,total'], ['order', 'loja_id.desc,total.asc'], ['limit', '777'],
      ['data', 'gte.2024-03-01T00:00:00+00:00'],
    ]);
    const expected = await sqlIds("data >= '2024-03-01T00:00:00+00:00'", 'loja_id DESC, total ASC, id');
    assertNoDuplicates(ids(items), 'walk');
    assert.equal(items.length, expected.length);
    assert.deepEqual(ids(items), expected);
    assert.ok(pages > 20);
  });

  test('a nullable boolean and char(2) key, a LIKE with spaces and unicode, 500 a page (plain statements)', async () => {
    const query = [['order', 'ativo,uf.desc,nota.desc'], ['descricao', 'like.* *'], ['select', 'id'], ['limit', '500']];
    const { items } = await walk('t_vendas', query);
    const expected = await sqlIds("descricao LIKE '% %'", 'ativo, uf DESC, nota DESC, id');
    assertNoDuplicates(ids(items), 'walk');
    assert.deepEqual(ids(items), expected);
    const uni = await walk('t_vendas', [['descricao', 'ilike.*ÜNÏCØDÉ ✓ 日本 1*'], ['select', 'id'], ['limit', '101']]);
    assert.deepEqual(ids(uni.items), await sqlIds("descricao ILIKE '%ÜNÏCØDÉ ✓ 日本 1%'"));
  });

  test('a view without a key pages by every sortable column', async () => {
    const { items } = await walk('v_vendas', { order: 'total.desc', limit: 250 }, { layer: 'refined' });
    const expected = await sqlJson('SELECT json_agg(id ORDER BY total DESC, id, uf) FROM refined.v_vendas');
    assert.deepEqual(ids(items), expected);
    const mv = await walk('mv_uf', { limit: 2, order: 'soma.desc' }, { layer: 'refined' });
    assert.deepEqual(mv.items.map((r) => r.uf), await sqlJson('SELECT json_agg(uf ORDER BY soma DESC, uf, n) FROM refined.mv_uf'));
  });

  test('a composite key, in CSV pages (Link only)', async () => {
    let res = await rows('t_itens', { limit: 40 }, 200, { headers: { accept: 'text/csv' } });
    const seen = [];
    for (let i = 0; i < 10; i++) {
      const [header, ...recs] = parseCsv(res.text);
      assert.deepEqual(header, ['linha', 'venda_id', 'qtd']);
      seen.push(...recs.map((r) => `${r[1]}/${r[0]}`));
      const link = res.headers.get('link');
      if (!link) break;
      const m = /^<([^>]+)>; rel="next"$/.exec(link);
      assert.ok(m, link);
      res = await follow(m[1], 200, { headers: { accept: 'text/csv' } });
    }
    assert.equal(seen.length, 150);
    assert.deepEqual(seen, await sqlJson("SELECT json_agg(venda_id || '/' || linha ORDER BY venda_id, linha) FROM trusted.t_itens"));
  });

  test('rows inserted behind the cursor do not shift the next page', async () => {
    const p1 = await rows('t_itens', { limit: 30 });
    await lake.sql('INSERT INTO trusted.t_itens VALUES (0, 1, 0), (0, 2, 0)');
    try {
      const p2 = await follow(p1.body.next);
      assert.deepEqual(p2.body.items[0], { linha: 1, venda_id: 11, qtd: 11 });
    } finally {
      await lake.sql('DELETE FROM trusted.t_itens WHERE linha = 0');
    }
  });

  test('a bad cursor is 400 naming after', async () => {
    const page = await rows('t_vendas', { limit: 5 });
    const good = cursorOf(page.body.next);
    const { h } = decodeCursor(good);
    const bad = [
      'not-a-cursor', 'x', '!!!', Buffer.from('{"h":1}').toString('base64url'),
      encodeCursor({ h, k: ['5', '6'] }), encodeCursor({ h: '0000000000000000', k: ['5'] }),
      encodeCursor({ h, k: [5] }), `${good}A`, good.slice(0, -3),
    ];
    for (const after of bad) assertField(await rows('t_vendas', { limit: 5, after }, 400), 'after');
    assertField(await rows('t_vendas', { limit: 5, after: '' }, 400), 'after', /empty/);
    // a cursor of another order or table
    const other = await rows('t_vendas', { limit: 5, order: 'total.desc' });
    assertField(await rows('t_vendas', { limit: 5, after: cursorOf(other.body.next) }, 400), 'after', /another table or order/);
    assertField(await rows('t_itens', { after: good }, 400), 'after');
    // a forged value that does not fit the key's type
    const forged = await rows('t_vendas', { after: encodeCursor({ h, k: ['abc'] }) }, 400);
    assertField(forged, 'after', /does not fit column id/);
    // a forged NULL key ascending: nothing can follow
    const tail = await rows('t_vendas', { after: encodeCursor({ h, k: [null] }) });
    assert.deepEqual(tail.body, { items: [], next: null });
    // and the real one works
    const p2 = await rows('t_vendas', { limit: 5, after: good });
    assert.deepEqual(ids(p2.body.items), [6, 7, 8, 9, 10]);
  });
});

// --- CSV --------------------------------------------------------------------------

describe('CSV', () => {
  test('a header row, RFC 4180 quoting, NULL empty and "" for an empty string', async () => {
    const select = 'id,descricao,ativo,extra,total,uf,data,nota';
    const res = await rows('t_vendas', { select, limit: 30, id: 'in.(1,2,3,4,5,6,7,17,20000)' }, 200, { headers: { accept: 'text/csv' } });
    assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8; header=present');
    assert.equal(res.headers.get('link'), null);
    const [header, ...recs] = parseCsv(res.text);
    assert.deepEqual(header, select.split(','));
    const expected = await sqlJson(`SELECT json_agg(json_build_array(id::text, descricao, ativo::text, extra::text, total::text, uf::text,
      data::text, nota::text) ORDER BY id) FROM trusted.t_vendas WHERE id IN (1,2,3,4,5,6,7,17,20000)`);
    assert.deepEqual(recs.map((r) => r.map(csvValue)), expected);
    const text = res.text;
    assert.ok(text.includes('\r\n1,"produto, com vírgula 1",false,"{""g"": 1, ""s"": ""x\\""y""}",7.31,RJ,'), 'commas and quotes quoted');
    assert.ok(text.includes('\r\n2,"diz ""olá"" 2",,'), 'quotes doubled; NULL boolean empty');
    assert.ok(text.includes('\r\n3,"linha 1\nlinha 2 3",true,'), 'a newline inside quotes');
    assert.ok(text.includes('\r\n4,ünïcødé ✓ 日本 4,false,'), 'unicode as is');
    assert.ok(text.includes('\r\n5," espaço 5",'), 'an edge space quoted');
    assert.ok(text.includes('\r\n7,,false,'), 'NULL text is an empty unquoted field');
    assert.ok(text.includes('\r\n20000,"",'), 'an empty string is ""');
  });

  test('limit=all streams every row; the count and the ids match SQL', async () => {
    const res = await rows('t_vendas', { select: 'id,descricao', limit: 'all' }, 200, { headers: { accept: 'text/csv' } });
    assert.equal(res.headers.get('link'), null);
    const [header, ...recs] = parseCsv(res.text);
    assert.deepEqual(header, ['id', 'descricao']);
    assert.equal(recs.length, VENDAS_ROWS);
    assert.deepEqual(recs.map((r) => Number(r[0])), await sqlIds());
    const sp = await rows('t_vendas', { uf: 'eq.SP', limit: 'all', order: 'data.desc' }, 200, { headers: { accept: 'text/csv' } });
    const spRecs = parseCsv(sp.text).slice(1);
    assert.deepEqual(spRecs.map((r) => Number(r[0])), await sqlIds("uf = 'SP'", 'data DESC, id'));
  });

  test('limit=all without CSV is 400 naming limit', async () => {
    assertField(await rows('t_vendas', { limit: 'all' }, 400), 'limit', /text\/csv/);
    assertField(await rows('t_vendas', { limit: 'all' }, 400, { headers: { accept: 'application/json' } }), 'limit');
  });

  test('a relation without a sortable column cannot be paged (400 limit) but exports as CSV', async () => {
    await lake.sql(`SET ROLE lake; CREATE TABLE refined.t_docs (doc json, p point);
      INSERT INTO refined.t_docs SELECT json_build_object('n', g), point(g, g) FROM generate_series(1, 3) g`);
    try {
      assertField(await rows('t_docs', {}, 400, { layer: 'refined' }), 'limit', /no sortable column/);
      const res = await rows('t_docs', { limit: 'all', select: 'doc' }, 200, { layer: 'refined', headers: { accept: 'text/csv' } });
      assert.equal(res.text, 'doc\r\n"{""n"" : 1}"\r\n"{""n"" : 2}"\r\n"{""n"" : 3}"\r\n');
      assertField(await rows('t_docs', { p: 'eq.(1,1)' }, 400, { layer: 'refined' }), 'p', /cannot be compared/);
    } finally {
      await lake.sql('DROP TABLE refined.t_docs');
    }
  });

  test('40 requests at once (more than the 16 pooled connections) all answer right', async () => {
    const expectedSp = await sqlIds("uf = 'SP'");
    const jobs = Array.from({ length: 40 }, async (_, i) => {
      if (i % 2) {
        const res = await rows('t_vendas', { uf: 'eq.SP', select: 'id', limit: 'all' }, 200, { headers: { accept: 'text/csv' } });
        assert.deepEqual(parseCsv(res.text).slice(1).map((r) => Number(r[0])), expectedSp);
      } else {
        const res = await rows('t_vendas', { select: 'id', limit: 1000, order: 'id.desc' });
        assert.deepEqual(ids(res.body.items), Array.from({ length: 1000 }, (_, k) => VENDAS_ROWS - k));
      }
    });
    await Promise.all(jobs);
  });

  test('Accept: CSV when listed before JSON, JSON for */*, 406 for neither', async () => {
    const csv = await rows('t_vendas', { limit: 1 }, 200, { headers: { accept: 'text/csv, application/json' } });
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    for (const accept of ['application/json, text/csv', '*/*', 'application/*', 'application/json;q=0.9']) {
      const res = await rows('t_vendas', { limit: 1 }, 200, { headers: { accept } });
      assert.equal(res.headers.get('content-type'), 'application/json', accept);
    }
    for (const accept of ['application/xml', 'text/html', 'image/png']) {
      assertField(await rows('t_vendas', { limit: 1 }, 406, { headers: { accept } }), 'Accept');
    }
  });
});

// --- errors and hostile input -------------------------------------------------------

describe('the catalog as it changes', () => {
  const WEIRD = 'Relatório "Mês" 50% #1?';

  before(async () => {
    await lake.sql(`SET ROLE lake;
      CREATE TABLE refined."Relatório ""Mês"" 50% #1?" (id int PRIMARY KEY, "Valor Total" numeric);
      INSERT INTO refined."Relatório ""Mês"" 50% #1?" SELECT g, g * 2 FROM generate_series(1, 25) g`);
  });

  test('a table name with quotes, spaces, % # ? and unicode: rows, and next links that encode it', async () => {
    const { items, pages } = await walk(WEIRD, { limit: 10, 'Valor Total': 'gte.10' }, { layer: 'refined' });
    assert.equal(pages, 3);
    assert.deepEqual(ids(items), Array.from({ length: 21 }, (_, i) => i + 5));
    assert.deepEqual(items[0], { id: 5, 'Valor Total': 10 });
    const first = await rows(WEIRD, { limit: 10 }, 200, { layer: 'refined' });
    assert.ok(first.body.next.startsWith('/v1/tables/refined/Relat%C3%B3rio%20%22M%C3%AAs%22%2050%25%20%231%3F?limit=10&after='), first.body.next);
  });

  test('a column added or dropped, a grant revoked: the next request sees it', async () => {
    await lake.sql("ALTER TABLE trusted.t_itens ADD COLUMN obs text DEFAULT 'nova'");
    let res = await rows('t_itens', { select: 'venda_id,obs', limit: 1 });
    assert.deepEqual(res.body.items, [{ venda_id: 1, obs: 'nova' }]);
    await lake.sql('ALTER TABLE trusted.t_itens DROP COLUMN obs');
    assertField(await rows('t_itens', { select: 'venda_id,obs' }, 400), 'select', /obs/);
    res = await rows('t_itens', { limit: 1 });
    assert.deepEqual(Object.keys(res.body.items[0]), ['linha', 'venda_id', 'qtd']);
    await lake.sql('REVOKE SELECT ON trusted.t_itens FROM lake_reader');
    try {
      assertField(await rows('t_itens', {}, 404), 'table');
    } finally {
      await lake.sql('GRANT SELECT ON trusted.t_itens TO lake_reader');
    }
    await rows('t_itens', { limit: 1 });
  });

  test('a table dropped and made again with other types under the same name', async () => {
    await lake.sql("SET ROLE lake; CREATE TABLE trusted.t_troca (id int PRIMARY KEY, v int); INSERT INTO trusted.t_troca VALUES (1, 10)");
    try {
      assert.deepEqual((await rows('t_troca', { v: 'eq.10' })).body.items, [{ id: 1, v: 10 }]);
      await lake.sql("SET ROLE lake; DROP TABLE trusted.t_troca; CREATE TABLE trusted.t_troca (id text PRIMARY KEY, v text); INSERT INTO trusted.t_troca VALUES ('a', 'dez')");
      assert.deepEqual((await rows('t_troca', { v: 'eq.dez' })).body.items, [{ id: 'a', v: 'dez' }]);
    } finally {
      await lake.sql('DROP TABLE IF EXISTS trusted.t_troca');
    }
  });
});

describe('descriptions cached per process, statements prepared per lake connection', () => {
  // Requests one after another reuse the lake connection released last, so
  // each repeated shape below runs a statement that connection prepared.
  test('a column changing type, a table made again, a grant revoked: the same SQL text answers the new table', async () => {
    await lake.sql('SET ROLE lake; CREATE TABLE trusted.t_prep (id int PRIMARY KEY, v int); INSERT INTO trusted.t_prep VALUES (1, 10), (2, 20)');
    try {
      for (let i = 0; i < 8; i++) // past PostgreSQL's first five custom plans
        assert.deepEqual((await rows('t_prep', { limit: 5 })).body.items, [{ id: 1, v: 10 }, { id: 2, v: 20 }]);
      await lake.sql("ALTER TABLE trusted.t_prep ALTER COLUMN v TYPE text USING 'v' || v");
      assert.deepEqual((await rows('t_prep', { limit: 5 })).body.items, [{ id: 1, v: 'v10' }, { id: 2, v: 'v20' }]);
      await lake.sql("SET ROLE lake; DROP TABLE trusted.t_prep; CREATE TABLE trusted.t_prep (id text PRIMARY KEY, v numeric); INSERT INTO trusted.t_prep VALUES ('a', 1.5)");
      assert.deepEqual((await rows('t_prep', { limit: 5 })).body.items, [{ id: 'a', v: 1.5 }]);
      await lake.sql('REVOKE SELECT ON trusted.t_prep FROM lake_reader');
      assertField(await rows('t_prep', { limit: 5 }, 404), 'table');
      await lake.sql('GRANT SELECT ON trusted.t_prep TO lake_reader');
      assert.deepEqual((await rows('t_prep', { limit: 5 })).body.items, [{ id: 'a', v: 1.5 }]);
    } finally {
      await lake.sql('DROP TABLE IF EXISTS trusted.t_prep');
    }
  });

  test('a cached description is only a guess: two columns swapping names answer in the new order', async () => {
    // A short page of a cached table is sent with its catalog check in one
    // round trip; the check must refuse the old description even though
    // the old SQL still runs.
    await lake.sql('SET ROLE lake; CREATE TABLE trusted.t_troca2 (id int PRIMARY KEY, v int, w int); INSERT INTO trusted.t_troca2 VALUES (1, 10, 20)');
    try {
      for (let i = 0; i < 3; i++)
        assert.deepEqual(Object.entries((await rows('t_troca2', { limit: 5 })).body.items[0]), [['id', 1], ['v', 10], ['w', 20]]);
      await lake.sql('SET ROLE lake; ALTER TABLE trusted.t_troca2 RENAME v TO x; ALTER TABLE trusted.t_troca2 RENAME w TO v; ALTER TABLE trusted.t_troca2 RENAME x TO w');
      assert.deepEqual(Object.entries((await rows('t_troca2', { limit: 5 })).body.items[0]), [['id', 1], ['w', 10], ['v', 20]]);
    } finally {
      await lake.sql('DROP TABLE IF EXISTS trusted.t_troca2');
    }
  });

  test('more shapes than a connection keeps (64): each answers its own rows, twice over', async () => {
    const all = await sqlIds();
    for (let round = 0; round < 2; round++)
      for (let limit = 1; limit <= 70; limit++) {
        const res = await rows('t_vendas', { select: 'id', limit });
        assert.deepEqual(ids(res.body.items), all.slice(0, limit), `limit ${limit}, round ${round}`);
      }
  });

  test('a page whose SQL is too long to keep prepared (600 values in a list) runs unnamed, each time', async () => {
    const want = (await sqlIds()).filter((id) => id % 7 === 0).slice(0, 600);
    for (let i = 0; i < 3; i++) {
      const res = await rows('t_vendas', { id: `in.(${want.join(',')})`, select: 'id', limit: 500 });
      assert.deepEqual(ids(res.body.items), want.slice(0, 500));
      assert.ok(res.body.next);
    }
  });

  test('a body that fits in 32 KB is one buffer with Content-Length; a longer one streams in chunks', async () => {
    let res = await rows('t_vendas', { select: 'id', limit: 50 });
    assert.match(res.headers.get('content-length') ?? '', /^[0-9]+$/);
    assert.equal(res.headers.get('transfer-encoding'), null);
    res = await rows('t_vendas', { limit: 2000 });
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    assert.equal(res.body.items.length, 2000);
  });

  test('a value PostgreSQL refuses, then good ones, through the same statement', async () => {
    for (let i = 0; i < 3; i++) {
      assertField(await rows('t_vendas', { select: 'id', id: 'eq.abc' }, 400), 'id', /abc/);
      for (const id of [5, 6, 7])
        assert.deepEqual(ids((await rows('t_vendas', { select: 'id', id: `eq.${id}` })).body.items), [id]);
    }
  });
});

describe('errors', () => {
  test('unknown columns and operators are 400 naming the parameter', async () => {
    assertField(await rows('t_vendas', { nope: 'eq.1' }, 400), 'nope', /no column 'nope'/);
    assertField(await rows('t_vendas', { Total: 'eq.1' }, 400), 'Total');
    assertField(await rows('t_vendas', { select: 'id,nope' }, 400), 'select', /nope/);
    assertField(await rows('t_vendas', { select: 'id,id' }, 400), 'select', /twice/);
    assertField(await rows('t_vendas', { select: 'id,' }, 400), 'select', /empty/);
    assertField(await rows('t_vendas', { select: '"id' }, 400), 'select', /unterminated/);
    assertField(await rows('t_vendas', { order: 'nope.desc' }, 400), 'order', /nope/);
    assertField(await rows('t_vendas', { order: 'id.down' }, 400), 'order');
    assertField(await rows('t_vendas', { order: 'id,id.desc' }, 400), 'order', /twice/);
    assertField(await rows('t_vendas', [['order', 'id'], ['order', 'uf']], 400), 'order', /twice/);
    assertField(await rows('t_vendas', { id: 'foo.1' }, 400), 'id', /op\.value/);
    assertField(await rows('t_vendas', { id: '1' }, 400), 'id');
    assertField(await rows('t_vendas', { id: 'EQ.1' }, 400), 'id');
    assertField(await rows('t_vendas', { ativo: 'is.maybe' }, 400), 'ativo');
    assertField(await rows('t_vendas', { uf: 'is.true' }, 400), 'uf', /not boolean/);
    assertField(await rows('t_vendas', { uf: 'in.SP,RJ' }, 400), 'uf', /parenthesised/);
    assertField(await rows('t_estranho', { doc: 'eq.{}' }, 400, { layer: 'refined' }), 'doc', /cannot be compared/);
    assertField(await rows('t_estranho', { order: 'doc' }, 400, { layer: 'refined' }), 'order', /cannot be sorted/);
    const many = Array.from({ length: 65 }, (_, i) => ['id', `gt.${i}`]);
    assertField(await rows('t_vendas', many, 400), 'id', /at most 64/);
  });

  test('a value that does not cast is 400 naming the filter and echoing the value', async () => {
    const cases = [
      [{ total: 'gt.abc' }, 'total', 'abc', /numeric/],
      [{ data: 'eq.notadate' }, 'data', 'notadate', /timestamp with time zone/],
      [{ id: 'in.(1,x)' }, 'id', 'x', /bigint/],
      [{ id: 'eq.99999999999999999999' }, 'id', '99999999999999999999', /out of range/],
      [{ ativo: 'eq.talvez' }, 'ativo', 'talvez', /boolean/],
      [{ extra: 'eq.{nope' }, 'extra', '{nope', /json/],
      [{ loja_id: 'lt.1.5' }, 'loja_id', '1.5', /integer/],
      [{ total: 'gt.1', data: 'lt.ontem' }, 'data', 'ontem', /timestamp/],
    ];
    for (const [query, field, value, detail] of cases) {
      const res = await rows('t_vendas', query, 400);
      assertField(res, field, detail);
      assert.equal(res.body.value, value);
      assert.equal(res.body.title, 'Invalid filter value');
    }
  });

  test('limit: 1 to 10000 or all', async () => {
    for (const limit of ['10001', '0', '-1', 'abc', '1.5', '', ' 5', '1e3', '99999999999']) {
      assertField(await rows('t_vendas', { limit }, 400), 'limit');
    }
    const max = await rows('t_vendas', { select: 'id', limit: '10000' });
    assert.equal(max.body.items.length, 10000);
    const padded = await rows('t_vendas', { select: 'id', limit: '007' });
    assert.equal(padded.body.items.length, 7);
  });

  test('only TRUSTED and REFINED: other layers are 400, unknown tables 404', async () => {
    for (const [layer, table] of [['land', 't_land'], ['raw', 't_raw'], ['control', 'sources'], ['public', 't_vendas'],
      ['pg_catalog', 'pg_authid'], ['information_schema', 'tables'], ['Trusted', 't_vendas'], ['trusted ', 't_vendas']]) {
      assertField(await rows(table, {}, 400, { layer }), 'layer');
    }
    for (const [layer, table] of [['trusted', 'nope'], ['trusted', 't_segredo'], ['trusted', 't_part_2024'],
      ['refined', 't_vendas'], ['trusted', 't_land'], ['trusted', 'T_VENDAS'], ['trusted', 't_vendas; drop table x'],
      ['trusted', 't_vendas"'], ['trusted', '✓']]) {
      assertField(await rows(table, {}, 404, { layer }), 'table');
    }
    // the table the reader may not read is hidden, not forbidden
    const secret = await rows('t_segredo', { select: 'senha' }, 404);
    assert.doesNotMatch(secret.text, /hunter2|permission/);
  });

  test('hostile input is a parameter or an unknown identifier, never SQL', async () => {
    const drop = "'; DROP TABLE trusted.t_vendas; --";
    let res = await rows('t_vendas', { descricao: `eq.${drop}` });
    assert.deepEqual(res.body, { items: [], next: null });
    res = await rows('t_vendas', { descricao: `in.(a,"${drop.replace(/"/g, '\\"')}")` });
    assert.deepEqual(res.body.items, []);
    res = await rows('t_vendas', { descricao: `like.*${drop}*` });
    assert.deepEqual(res.body.items, []);
    assertField(await rows('t_vendas', { id: 'eq.1; DROP TABLE trusted.t_vendas' }, 400), 'id');
    assertField(await rows('t_vendas', { total: `gt.1) OR (1=1` }, 400), 'total');
    const col = 'id" = 1; DROP TABLE trusted.t_vendas; --';
    assertField(await rows('t_vendas', { [col]: 'eq.1' }, 400), col);
    assertField(await rows('t_vendas', { select: `id,"descricao"", (SELECT senha FROM trusted.t_segredo) AS ""x"` }, 400), 'select');
    assertField(await rows('t_vendas', { select: 'id, total' }, 400), 'select', / total/);
    assertField(await rows('t_vendas', { order: 'id;DROP TABLE trusted.t_vendas.desc' }, 400), 'order');
    assertField(await rows('t_vendas', { order: '(SELECT 1).asc' }, 400), 'order');
    assertField(await rows('t_vendas', { 'descricao::text': 'eq.x' }, 400), 'descricao::text');
    // quotes, backslashes, unicode and long values are plain data
    res = await rows('t_vendas', { descricao: 'eq.diz "olá" 2', select: 'id' });
    assert.deepEqual(ids(res.body.items), [2]);
    res = await rows('t_vendas', { descricao: "eq.it's \\ \"quoted\" 💥", select: 'id' });
    assert.deepEqual(res.body.items, []);
    res = await rows('t_vendas', { descricao: `eq.${'x'.repeat(8000)}`, select: 'id' });
    assert.deepEqual(res.body.items, []);
    res = await rows('t_vendas', { descricao: `in.(${Array.from({ length: 60 }, (_, i) => `"diz \\"olá\\" ${i}"`).join(',')})`, select: 'id' });
    assert.deepEqual(ids(res.body.items), await sqlIds(`descricao IN (${Array.from({ length: 60 }, (_, i) => `'diz "olá" ${i}'`).join(',')})`));
    assert.equal(res.body.items.length, 9);
    res = await rows('t_vendas', { id: `in.(${Array.from({ length: 1000 }, (_, i) => i * 20).join(',')})`, select: 'id', limit: 2000 });
    assert.equal(res.body.items.length, 999);
    assertField(await rows('t_vendas', { descricao: `in.(${Array.from({ length: 1001 }, (_, i) => i).join(',')})` }, 400), 'descricao', /1000/);
    assertField(await rows('t_vendas', { id: `eq.${'9'.repeat(5000)}` }, 400), 'id');
    const longName = 'c'.repeat(3000);
    const long = await rows('t_vendas', { [longName]: 'eq.1' }, 400);
    assert.ok(long.body.field.length >= 64 && longName.startsWith(long.body.field), 'field: the name, cut');
    // %00 stays as text, never cuts a value short
    res = await srv.request('GET', '/v1/tables/trusted/t_vendas?descricao=eq.simples%006&select=id', { token: 'reader' });
    assertMatchesSpec('GET', ROWS, 200, res);
    assert.deepEqual(res.body.items, []);
    // a query string that is not UTF-8
    res = await srv.request('GET', '/v1/tables/trusted/t_vendas?descricao=eq.%FF', { token: 'reader' });
    assertMatchesSpec('GET', ROWS, 400, res);
    // everything is still there
    assert.equal(await lake.sql('SELECT count(*) FROM trusted.t_vendas'), String(VENDAS_ROWS));
    assert.equal(await lake.sql('SELECT count(*) FROM trusted.t_segredo'), '1');
    const list = await srv.call('GET', LIST, 200, { token: 'reader' });
    assert.ok(list.body.items.some((t) => t.name === 't_vendas'));
  });

  test('the reader token reads, the admin token too, no token or a wrong one is 401', async () => {
    await rows('t_vendas', { limit: 1 }, 200, { token: 'admin' });
    await srv.call('GET', LIST, 200, { token: 'admin' });
    for (const token of [null, 'nope-nope-nope-nope-nope']) {
      const res = await rows('t_vendas', { limit: 1 }, 401, { token });
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="shopper-lake"');
      await srv.call('GET', LIST, 401, { token });
    }
    // 401 comes before the layer check
    await rows('t_vendas', {}, 401, { token: null, layer: 'land' });
  });

  test('POST is 405 with Allow: GET, HEAD', async () => {
    const res = await srv.request('POST', '/v1/tables/trusted/t_vendas', { token: 'admin', body: {} });
    assertMatchesSpec('POST', ROWS, 405, res);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });

  test('Prefer: count=exact|planned|estimated answers the total in Content-Range', async () => {
    const sp = Math.floor(VENDAS_ROWS / 5); // uf cycles through five values
    const exact = await rows('t_vendas', { uf: 'eq.SP', limit: '50' }, 200, { headers: { Prefer: 'count=exact' } });
    assert.equal(exact.headers.get('content-range'), `0-49/${sp}`);
    assert.equal(exact.headers.get('preference-applied'), 'count=exact');
    // a later page knows the total, not its offset
    const next = await follow(exact.headers.get('link').match(/<([^>]+)>/)[1], 200, { headers: { Prefer: 'count=exact' } });
    assert.equal(next.headers.get('content-range'), `*/${sp}`);
    // the last, short page of a small selection
    const few = await rows('t_vendas', { id: 'lte.7', limit: '50' }, 200, { headers: { Prefer: 'return=minimal, count=exact' } });
    assert.equal(few.headers.get('content-range'), '0-6/7');
    const none = await rows('t_vendas', { id: 'lt.0' }, 200, { headers: { Prefer: 'count=exact' } });
    assert.equal(none.headers.get('content-range'), '*/0');
    const planned = await rows('t_vendas', { limit: '10' }, 200, { headers: { Prefer: 'count=planned' } });
    const [, est] = planned.headers.get('content-range').match(/^0-9\/(\d+)$/);
    assert.ok(Number(est) > VENDAS_ROWS / 2 && Number(est) < VENDAS_ROWS * 2, `planned ${est}`);
    const estimated = await rows('t_vendas', { uf: 'eq.RJ', limit: '10' }, 200, { headers: { Prefer: 'count=estimated' } });
    assert.equal(estimated.headers.get('content-range'), `0-9/${sp}`, 'a small estimate is counted exactly');
    const plain = await rows('t_vendas', { limit: '10' });
    assert.equal(plain.headers.get('content-range'), null, 'no count unless asked');
  });

  test('gzip when the client takes it: the table stream and JSON answers, same bytes once inflated', async () => {
    const { gunzipSync } = await import('node:zlib');
    const { request } = await import('node:http');
    const get = (path, ae) => new Promise((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port: srv.port, path, headers: { Authorization: `Bearer ${READER_TOKEN}`, Accept: 'text/csv', ...(ae ? { 'Accept-Encoding': ae } : {}) } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
      });
      r.on('error', reject);
      r.end();
    });
    const path = '/v1/tables/trusted/t_vendas?limit=all&order=id.asc';
    const plain = await get(path);
    assert.equal(plain.res.headers['content-encoding'], undefined);
    const zipped = await get(path, 'gzip, deflate');
    assert.equal(zipped.res.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < plain.body.length / 3, `compressed ${zipped.body.length} of ${plain.body.length}`);
    assert.ok(gunzipSync(zipped.body).equals(plain.body), 'the same CSV once inflated');
    const refused = await get(path, 'gzip;q=0, identity');
    assert.equal(refused.res.headers['content-encoding'], undefined);
    // a buffered JSON answer (the list of tables)
    const list = await get('/v1/tables', 'gzip');
    assert.equal(list.res.headers['content-encoding'], 'gzip');
    assert.ok(JSON.parse(gunzipSync(list.body)).items.length > 0);
  });

  test('GET .../columns describes the columns and a JSON Schema of a row that the rows satisfy', async () => {
    const res = await srv.call('GET', '/v1/tables/{layer}/{table}/columns', 200, { params: { layer: 'trusted', table: 't_vendas' }, token: 'reader' });
    assert.deepEqual(res.body.primary_key, ['id']);
    const byName = Object.fromEntries(res.body.columns.map((c) => [c.name, c]));
    assert.deepEqual(Object.keys(byName), ['id', 'total', 'data', 'descricao', 'ativo', 'uf', 'loja_id', 'extra', 'nota']);
    assert.equal(byName.id.primary_key_position, 1);
    assert.equal(byName.id.nullable, false);
    assert.equal(byName.total.json_type, 'number');
    assert.equal(byName.ativo.json_type, 'boolean');
    assert.equal(byName.extra.json_type, 'json');
    assert.equal(byName.data.nullable, false);
    const { default: Ajv2020 } = await import('ajv/dist/2020.js');
    const validate = new Ajv2020({ strict: false }).compile(res.body.row_schema);
    const page = await rows('t_vendas', { limit: '500' });
    for (const row of page.body.items) assert.ok(validate(row), JSON.stringify(validate.errors));
    await srv.call('GET', '/v1/tables/{layer}/{table}/columns', 404, { params: { layer: 'trusted', table: 'nope' }, token: 'reader' });
    await srv.call('GET', '/v1/tables/{layer}/{table}/columns', 400, { params: { layer: 'land', table: 'x' }, token: 'reader' });
  });

  test('aggregates: select=uf,total.sum(),count() groups by the plain columns, pages like rows, equals SQL', async () => {
    const res = await rows('t_vendas', { select: 'uf,total.sum(),count(),data.max()', order: 'uf.desc', limit: '3' });
    assert.deepEqual(res.body.items.map((r) => Object.keys(r)), Array(3).fill(['uf', 'total_sum', 'count', 'data_max']));
    const want = await sqlJson(`SELECT json_agg(x ORDER BY uf DESC) FROM (SELECT uf, sum(total) AS total_sum, count(*) AS count,
      to_char(max(data) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00' AS data_max FROM trusted.t_vendas GROUP BY uf) x`);
    const second = await follow(res.body.next);
    const got = [...res.body.items, ...second.body.items];
    assert.equal(second.body.next, null, 'five groups: 3 + 2');
    assert.deepEqual(got.map((r) => [r.uf, Number(r.total_sum), r.count, r.data_max]), want.map((r) => [r.uf, Number(r.total_sum), r.count, r.data_max]));
    // no grouping: one row, with a filter
    const one = await rows('t_vendas', { select: 'count(),total.avg()', uf: 'eq.SP' }, 200, { headers: { Prefer: 'count=exact' } });
    assert.equal(one.body.items.length, 1);
    assert.equal(one.body.items[0].count, VENDAS_ROWS / 5);
    assert.equal(one.headers.get('content-range'), '0-0/1');
    // CSV too
    const csv = await srv.request('GET', '/v1/tables/trusted/t_vendas?select=ativo,count()&order=ativo', { token: 'reader', headers: { Accept: 'text/csv' } });
    assert.equal(csv.status, 200);
    assert.match(csv.text, /^ativo,count\r\n/);
    await rows('t_vendas', { select: 'descricao.sum()' }, 400);
  });

  test('HEAD answers a GET\'s status and headers without the body', async () => {
    const res = await fetch(`http://127.0.0.1:${srv.port}/v1/tables/trusted/t_vendas?limit=3`, {
      method: 'HEAD', headers: { Authorization: `Bearer ${READER_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/json/);
    assert.equal(await res.text(), '');
    const bad = await fetch(`http://127.0.0.1:${srv.port}/v1/tables/trusted/nope`, {
      method: 'HEAD', headers: { Authorization: `Bearer ${READER_TOKEN}` } });
    assert.equal(bad.status, 404);
  });
});

// --- bugs found while writing these tests (each fails until fixed) ----------------------

describe('regressions', () => {
  before(async () => {
    await lake.sql(`SET ROLE lake;
      CREATE DOMAIN trusted.positivo AS integer CHECK (VALUE > 0);
      CREATE TABLE trusted.t_dominio (id trusted.positivo PRIMARY KEY, v text);
      INSERT INTO trusted.t_dominio VALUES (1, 'a'), (2, 'b'), (3, 'c');
      CREATE VIEW refined.v_divide AS SELECT id, 100 / (id - 5) AS r FROM trusted.t_vendas WHERE id <= 10`);
  });

  test('a filter on a domain column compares as its base type (gt.0 is not 500)', async () => {
    const res = await rows('t_dominio', { id: 'gt.0' });
    assert.deepEqual(ids(res.body.items), [1, 2, 3]);
    const neg = await rows('t_dominio', { id: 'in.(-1,2)' });
    assert.deepEqual(ids(neg.body.items), [2]);
    assertField(await rows('t_dominio', { id: 'eq.x' }, 400), 'id');
  });

  test('a table name that is not UTF-8 is 400 naming it, not 500', async () => {
    // every path parameter must be UTF-8 (issue 16)
    for (const path of ['/v1/tables/trusted/%FF', '/v1/tables/trusted/t_vendas%C3']) {
      const res = await srv.request('GET', path, { token: 'reader' });
      assertMatchesSpec('GET', ROWS, 400, res);
      assert.equal(res.body.field, 'table');
    }
  });

  test('a data error inside a view is the server\'s 500, not a 400 "Invalid filter value" without a field', async () => {
    const res = await rows('v_divide', {}, 500, { layer: 'refined' });
    assert.notEqual(res.body.title, 'Invalid filter value');
  });

  test('a LIKE pattern that ends in an escape is 400 naming its filter', async () => {
    // PostgreSQL refuses it only when matching reaches its end: '' LIKE '%\\'
    // is false, 'abc' LIKE '%\\' an error, so the diagnosis must match the
    // pattern against itself.
    const res = await rows('t_vendas', { descricao: 'like.*\\' }, 400);
    assertField(res, 'descricao', /escape/);
    // refused when parsed, whatever the data (issue 16), so no value to echo
  });

  test('Accept is matched case-insensitively, and text/* gets CSV', async () => {
    for (const accept of ['TEXT/CSV', 'Text/Csv; charset=utf-8', 'text/*']) {
      const res = await rows('t_vendas', { limit: 1 }, 200, { headers: { accept } });
      assert.match(res.headers.get('content-type'), /^text\/csv/, accept);
    }
  });

  test('a problem that quotes a long unicode name keeps its detail and instance', async () => {
    const name = `${'a'.repeat(63)}✓`;
    const res = await rows('t_vendas', { [name]: 'eq.1' }, 400);
    assert.equal(res.body.field, name);
    assert.ok(res.body.instance, 'instance');
    assert.match(res.body.detail, /has no column/);
  });
});

// --- memory -------------------------------------------------------------------------------

function vmHwmKb(pid) {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmHWM in /proc/<pid>/status');
  return Number(m[1]);
}

// Streams a response, counting bytes and line ends without keeping it.
async function streamCount(url, headers) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
  assert.equal(res.status, 200, await (res.status === 200 ? '' : res.text()));
  let bytes = 0;
  let lines = 0;
  let tail = '';
  for await (const chunk of res.body) {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
    tail = (tail + Buffer.from(chunk.subarray(Math.max(0, chunk.length - 400))).toString('utf8')).slice(-400);
  }
  return { status: res.status, headers: res.headers, bytes, lines, tail };
}

describe('memory', () => {

  test('clients that hang up mid-export give their connections back', async () => {
    await lake.sql(SETUP_BIG);
    try {
      const headers = { authorization: `Bearer ${READER_TOKEN}`, accept: 'text/csv' };
      // more than the pool's 16 connections, each abandoned after its first chunk
      for (let i = 0; i < 20; i++) {
        const ac = new AbortController();
        const res = await fetch(`${srv.url}/v1/tables/trusted/t_grande?limit=all`, { headers, signal: ac.signal });
        assert.equal(res.status, 200);
        const reader = res.body.getReader();
        const { value } = await reader.read();
        assert.ok(value.length > 0);
        ac.abort();
        await reader.closed.catch(() => {});
      }
      // the server still answers queries (each one needs a pooled connection)
      for (let i = 0; i < 3; i++) {
        const res = await rows('t_vendas', { limit: 1 }, 200, { timeoutMs: 15_000 });
        assert.equal(res.body.items.length, 1);
      }
      // and no transaction of an abandoned export stays open
      let open = '';
      for (let i = 0; i < 50; i++) {
        open = await lake.sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                                 AND usename = 'lake' AND state LIKE 'idle in transaction%'`);
        if (open === '0') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(open, '0', 'transactions left open by abandoned exports');
    } finally {
      await lake.sql('DROP TABLE trusted.t_grande');
    }
  });

  test('an error after the first rows ends the CSV stream early; the server carries on', async () => {
    await lake.sql(`SET ROLE lake; CREATE VIEW refined.v_quebra AS
      SELECT id, CASE WHEN id > 15000 THEN 1 / (id - id) ELSE 1 END AS r FROM trusted.t_vendas`);
    try {
      const res = await fetch(`${srv.url}/v1/tables/refined/v_quebra?limit=all&order=id`, {
        headers: { authorization: `Bearer ${READER_TOKEN}`, accept: 'text/csv' },
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 200) {
        // the status was sent with the first rows: the body must not end cleanly
        await assert.rejects(res.text(), 'a failed stream must not look complete');
        await srv.waitForLog((l) => l.msg === 'table stream failed', 5_000);
      } else {
        // PostgreSQL failed before the first row was sent
        assert.equal(res.status, 500, await res.text());
      }
      await rows('t_vendas', { limit: 1 });
    } finally {
      await lake.sql('DROP VIEW refined.v_quebra');
    }
  });
  test(`a ${BIG_ROWS}-row CSV export streams: the server's peak RSS grows by less than 50 MB`, async () => {
    await lake.sql(SETUP_BIG);
    // A server of its own, so the peak is this export's; ASan's quarantine
    // of freed blocks (256 MB by default) would hide the difference between
    // streaming and buffering, so it is kept small here.
    const asan = `${process.env.ASAN_OPTIONS ?? 'detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0'}:quarantine_size_mb=8:thread_local_quarantine_size_kb=256`;
    const mem = await lake.startServer({ env: { ASAN_OPTIONS: asan } });
    try {
      const headers = { authorization: `Bearer ${READER_TOKEN}`, accept: 'text/csv' };
      const url = `${mem.url}/v1/tables/trusted/t_grande?limit=all`;
      // warm up: connection, catalog cache, one cursor batch and more
      const warm = await streamCount(`${mem.url}/v1/tables/trusted/t_grande?limit=5000`, headers);
      assert.equal(warm.lines, 5001);
      const before = vmHwmKb(mem.proc.pid);
      const t0 = Date.now();
      const r = await streamCount(url, headers);
      const ms = Date.now() - t0;
      const grown = vmHwmKb(mem.proc.pid) - before;
      assert.equal(r.lines, BIG_ROWS + 1, 'a header and every row');
      assert.ok(r.tail.endsWith(`${'x'.repeat(250)}${BIG_ROWS},${BIG_ROWS * 1.5}.0,2024-01-03 07:33:20+00\r\n`), r.tail);
      assert.ok(r.bytes > 60e6, `${r.bytes} bytes`);
      assert.ok(grown < 50 * 1024, `VmHWM grew by ${Math.round(grown / 1024)} MB while streaming ${Math.round(r.bytes / 1e6)} MB`);
      console.log(`# streamed ${Math.round(r.bytes / 1e6)} MB in ${ms} ms; VmHWM +${Math.round(grown / 1024)} MB`);
    } finally {
      await mem.stop();
      await lake.sql('DROP TABLE trusted.t_grande');
    }
  });
});

describe('stop', () => {
  test('the server stops cleanly (SIGTERM → exit 0, no sanitizer report)', async () => {
    await srv.stop();
  });
});
