// The sqlserver source kind (jobs/sources/sqlserver/) against mssql-sim, a
// TDS 7.4 server with SQL Server's Change Tracking (tests/fixtures/mssql).
// The simulator's truth (EXEC sim.dump, read through tedious, another TDS
// client) is compared with LAND (the exact text) and TRUSTED (the typed
// values PostgreSQL makes of that truth):
//
// - every type round-trips: extremes, NULLs, surrogate pairs, 1 MB nvarchar(max);
// - full and incremental loads: inserts, updates, deletes, key updates, a
//   transaction that commits late, loaded once;
// - cleanup past the offset fails asking for a full load, or reloads with
//   options.on_ct_expired; a truncate likewise; a table without change
//   tracking fails permanently, and loads by watermark;
// - the connection dropped mid-result is retried with nothing doubled; a
//   wrong password fails permanently with no secret anywhere; a cancel
//   stops the source query within about a second; kill -9 mid-load, then a
//   new server: loaded exactly once;
// - discovery and bulk registration.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Lake, psql } from './lib/harness.mjs';
import { dumpRows, getJob, runLoad, startLoad, waitJob } from './lib/marketplace.mjs';
import { MSSQL_PASSWORD, MssqlSim } from './lib/mssql.mjs';

const SECRET_ENV = 'LAKE_SECRET_IT_MSSQL_URL';
let lake;
let sim;
let srv;

// The default TRUSTED type of each SQL Server type (README of jobs/sources/sqlserver/).
const TIPOS = [
  ['id', 'integer', true], ['c_int', 'integer'], ['c_bigint', 'bigint'], ['c_smallint', 'smallint'],
  ['c_tinyint', 'smallint'], ['c_bit', 'boolean'], ['c_decimal', 'numeric(36,10)'], ['c_numeric', 'numeric(38,0)'],
  ['c_dec_small', 'numeric(5,2)'], ['c_money', 'numeric(19,4)'], ['c_float', 'double precision'], ['c_real', 'real'],
  ['c_date', 'date'], ['c_time', 'time'], ['c_datetime', 'timestamp'], ['c_smalldatetime', 'timestamp'],
  ['c_datetime2', 'timestamp'], ['c_datetimeoffset', 'timestamptz'], ['c_char', 'text'], ['c_varchar', 'text'],
  ['c_nchar', 'text'], ['c_nvarchar', 'text'], ['c_varchar_max', 'text'], ['c_nvarchar_max', 'text'],
  ['c_text', 'text'], ['c_ntext', 'text'], ['c_guid', 'uuid'], ['c_varbinary', 'bytea'], ['c_varbinary_max', 'bytea'],
  ['c_xml', 'text'],
];

const VENDAS = [
  ['id', 'bigint', true], ['produto_id', 'bigint'], ['loja_id', 'bigint'], ['cliente_id', 'bigint'],
  ['promocao_id', 'bigint'], ['data_venda', 'timestamptz'], ['quantidade', 'integer'],
  ['preco_unitario', 'numeric(12,2)'], ['total', 'numeric(14,2)'], ['updated_at', 'timestamp'],
];

function def(system, object, cols, extra = {}) {
  return {
    system, source_type: 'sqlserver', database: 'marketplace', schema: 'dbo', object,
    load_type: 'incremental', offset_mode: 'change_tracking', connection_secret: `env:${SECRET_ENV}`,
    columns: cols.map(([name, type, key]) => (key ? { name, type, key: true } : { name, type })),
    ...extra,
  };
}

async function register(d) {
  return (await srv.call('POST', '/v1/sources', 201, { body: d })).body;
}

before(async () => {
  sim = await MssqlSim.start(['--sales', 3000, '--seed', 7]);
  lake = await Lake.create('sqlserver');
  srv = await lake.startServer({
    env: { [SECRET_ENV]: sim.url(), SHOPPERLAKE_WORKERS: 2, SHOPPERLAKE_HEARTBEAT_SECS: 1, SHOPPERLAKE_STALE_SECS: 3 },
  });
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    await sim?.stop();
  }
});

// The simulator's canonical text of a value, in LAND's form: ISO 8601 with
// T and +HH:MM, bytea's \x hex.
function landForm(type, v) {
  if (v === null) return null;
  if (/^timestamp|^date|^time/.test(type)) return v.replace(' ', 'T').replace(/ ([+-]\d\d:\d\d)$/, '$1');
  if (type === 'bytea') return '\\x' + v.slice(2).toLowerCase();
  return v;
}

test('every type round-trips source -> LAND (exact text) -> TRUSTED (the cast of the truth)', async () => {
  const source = await register(def('ittipos', 'tipos', TIPOS, { load_type: 'full', offset_mode: 'none' }));
  const job = await runLoad(srv, source.id, 'full');
  assert.equal(job.rows_written ?? job.steps.find((s) => s.name === 'land').rows, 7);
  const truth = await sim.dump('tipos');
  assert.deepEqual(truth.header, TIPOS.map((c) => c[0]));
  const cols = TIPOS.map((c) => `"${c[0]}"`).join(', ');
  const land = await dumpRows(lake.db, `SELECT ${cols} FROM land.ittipos_tipos ORDER BY id`);
  assert.equal(land.length, 7);
  const byId = new Map(truth.rows.map((r) => [r[0], r]));
  for (const line of land) {
    // COPY text: \N for NULL, backslash escapes
    const got = line.split('\t').map((f) => (f === '\\N' ? null : f.replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c)));
    const want = byId.get(got[0]);
    assert.ok(want, `row ${got[0]} in the truth`);
    TIPOS.forEach(([name, type], i) => {
      const w = landForm(type, want[i]);
      if (type === 'double precision' || type === 'real') {
        if (w === null) assert.equal(got[i], null, name);
        else assert.equal(type === 'real' ? Math.fround(Number(got[i])) : Number(got[i]),
          type === 'real' ? Math.fround(Number(w)) : Number(w), `${name} of row ${got[0]}: ${got[i]} vs ${w}`);
      } else {
        assert.equal(got[i], w, `${name} of row ${got[0]} (${String(got[i]).length} vs ${String(w).length} chars)`);
      }
    });
  }
  // TRUSTED: each value equals PostgreSQL's cast of the truth's text.
  const values = truth.rows
    .map((r) => `(${r.map((v, i) => (v === null ? 'NULL' : `$t$${landForm(TIPOS[i][1], v)}$t$`)).join(', ')})`)
    .join(',\n');
  const file = path.join(lake.tmp, 'truth_tipos.sql');
  writeFileSync(file, `CREATE TABLE public.truth_tipos (${TIPOS.map((c) => `"${c[0]}" text`).join(', ')});
    INSERT INTO public.truth_tipos VALUES ${values};`);
  await psql(null, { db: lake.db, file });
  const diff = await lake.sql(`SELECT count(*) FROM public.truth_tipos t FULL JOIN trusted.ittipos_tipos x ON x.id = t.id::integer
    WHERE x.id IS NULL OR t.id IS NULL OR ${TIPOS.map(([n, type]) => `x."${n}" IS DISTINCT FROM t."${n}"::${type}`).join(' OR ')}`);
  assert.equal(diff, '0', 'TRUSTED equals the truth cast to the TRUSTED types');
  const big = await lake.sql(`SELECT length(c_nvarchar_max), octet_length(c_nvarchar_max) FROM trusted.ittipos_tipos WHERE id = 7`);
  assert.ok(Number(big.split('|')[1]) >= 1_000_000, `a 1 MB nvarchar(max) kept whole: ${big}`);
  // surrogate pairs: row 5 holds an emoji
  const emoji = await lake.sql(`SELECT count(*) FROM trusted.ittipos_tipos WHERE c_nvarchar ~ '[\\U0001F600-\\U0001FAFF]'`);
  assert.ok(Number(emoji) >= 1, 'an emoji (a surrogate pair in UTF-16) arrives as one character');
  assert.equal(job.steps.find((s) => s.name === 'land').snapshot, true);
});
