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
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Lake, ROOT, psql } from './lib/harness.mjs';
import { dumpRows, poll, runLoad, runPipeline, startLoad, waitJob } from './lib/marketplace.mjs';
import { MSSQL_PASSWORD, MssqlSim } from './lib/mssql.mjs';

const SECRET_ENV = 'LAKE_SECRET_IT_MSSQL_URL';
const BAD_ENV = 'LAKE_SECRET_IT_MSSQL_BAD';
const BAD_PASSWORD = 'Wr0ng-Passw0rd-7c1e';
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
  if (extra.load_type === 'full' && !extra.offset_mode) extra = { ...extra, offset_mode: 'none' };
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

function serverEnv(extra = {}) {
  return {
    [SECRET_ENV]: sim.url(), [BAD_ENV]: sim.url({ password: BAD_PASSWORD }), LAKE_SECRET_IT_PG_URL: lake.url,
    LAKE_SECRET_MARKETPLACE_MSSQL_URL: sim.url(),
    SHOPPERLAKE_WORKERS: 2, SHOPPERLAKE_HEARTBEAT_SECS: 1, SHOPPERLAKE_STALE_SECS: 3, ...extra,
  };
}

before(async () => {
  sim = await MssqlSim.start(['--sales', 3000, '--seed', 7]);
  lake = await Lake.create('sqlserver');
  srv = await lake.startServer({
    env: serverEnv(),
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

let truthCounter = 0;
let lastTruthTable;

// TRUSTED's live rows equal the simulator's truth of dbo.<table> now, each
// value compared with PostgreSQL's cast of the truth's text to the TRUSTED
// type (so a datetime2 is compared at PostgreSQL's microseconds).
async function assertTrustedEqualsTruth(table, cols, trustedTable) {
  const truth = await sim.dump(table);
  assert.deepEqual(truth.header, cols.map((c) => c[0]));
  const t = `truth_${table}_${++truthCounter}`;
  const lit = (v, i) => (v === null ? 'NULL' : `$t$${landForm(cols[i][1], v)}$t$`);
  const file = path.join(lake.tmp, `${t}.sql`);
  writeFileSync(file, `CREATE TABLE public.${t} (${cols.map((c) => `"${c[0]}" text`).join(', ')});\n` +
    (truth.rows.length ? `INSERT INTO public.${t} VALUES ${truth.rows.map((r) => `(${r.map(lit).join(', ')})`).join(',\n')};` : ''));
  await psql(null, { db: lake.db, file });
  const key = cols.find((c) => c[2])[0];
  const diff = await lake.sql(`SELECT count(*) FROM public.${t} t FULL JOIN (SELECT * FROM trusted.${trustedTable} WHERE NOT _deleted) x
    ON x."${key}" = t."${key}"::${cols.find((c) => c[2])[1]}
    WHERE x."${key}" IS NULL OR t."${key}" IS NULL OR ${cols.map(([n, type]) => `x."${n}" IS DISTINCT FROM t."${n}"::${type}`).join(' OR ')}`);
  assert.equal(diff, '0', `trusted.${trustedTable} equals the truth of dbo.${table} (${truth.rows.length} rows)`);
  lastTruthTable = t;
  return truth.rows.length;
}

test('every type round-trips source -> LAND (exact text) -> TRUSTED (the cast of the truth)', async () => {
  const source = await register(def('ittipos', 'tipos', TIPOS, { load_type: 'full', offset_mode: 'none' }));
  const job = await runLoad(srv, source.id, 'full');
  assert.equal(job.rows_written ?? job.steps.find((s) => s.name === 'land').rows, 7);
  const truth = await sim.dump('tipos');
  assert.deepEqual(truth.header, TIPOS.map((c) => c[0]));
  const cols = TIPOS.map((c) => `"${c[0]}"`).join(', ');
  const land = await dumpRows(lake.db, `SELECT ${cols} FROM raw.ittipos_tipos ORDER BY id`);
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
  await assertTrustedEqualsTruth('tipos', TIPOS, 'ittipos_tipos');
  const big = await lake.sql(`SELECT length(c_nvarchar_max), octet_length(c_nvarchar_max) FROM trusted.ittipos_tipos WHERE id = 7`);
  assert.ok(Number(big.split('|')[1]) >= 1_000_000, `a 1 MB nvarchar(max) kept whole: ${big}`);
  // surrogate pairs: row 5 holds an emoji
  const emoji = await lake.sql(`SELECT count(*) FROM trusted.ittipos_tipos WHERE c_nvarchar ~ '[\\U0001F600-\\U0001FAFF]'`);
  assert.ok(Number(emoji) >= 1, 'an emoji (a surrogate pair in UTF-16) arrives as one character');
  assert.equal(job.steps.find((s) => s.name === 'land').snapshot, true);
});

async function getSource(id) {
  return (await srv.call('GET', '/v1/sources/{id}', 200, { params: { id } })).body;
}

async function landOps(table, jobId) {
  const out = await lake.sql(`SELECT coalesce(sys_change_operation, 'snapshot') AS op, count(*) FROM raw.${table}
    WHERE _job_id = ${jobId} GROUP BY 1 ORDER BY 1`);
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => [l.split('|')[0], Number(l.split('|')[1])]));
}

test('change tracking: the first load is a snapshot; then inserts, updates, deletes, key updates and a late commit, each loaded once', async () => {
  const source = await register(def('itct', 'vendas', VENDAS));
  const first = await runLoad(srv, source.id, 'incremental');
  assert.equal(first.steps.find((s) => s.name === 'land').snapshot, true, 'no offset yet: a full snapshot');
  assert.deepEqual(await landOps('itct_vendas', first.id), { snapshot: 3000 });
  const v0 = (await getSource(source.id)).last_offset;
  assert.match(v0, /^\d+$/, 'the offset is the change tracking version');
  assert.equal(await assertTrustedEqualsTruth('vendas', VENDAS, 'itct_vendas'), 3000);

  // changes: the simulator's mix (updates, inserts, deletes), a key update, a delete
  const [mix] = await sim.sql(`EXEC sim.change_sales @pct = 2`);
  await sim.sql('UPDATE dbo.vendas SET id = 900001 WHERE id = 11');
  await sim.sql('DELETE FROM dbo.vendas WHERE id = 12');
  // a transaction that is still open during the next load, committed after it
  const late = await sim.connect();
  await sim.sql('BEGIN TRANSACTION', late);
  await sim.sql('UPDATE dbo.vendas SET quantidade = 77 WHERE id = 20', late);

  const second = await runLoad(srv, source.id, 'incremental');
  assert.equal(second.steps.find((s) => s.name === 'land').snapshot, false);
  const ops = await landOps('itct_vendas', second.id);
  assert.ok(ops.I >= 1 && ops.U >= 1 && ops.D >= 2, `I, U and D arrive: ${JSON.stringify(ops)} after ${JSON.stringify(mix)}`);
  assert.equal(await lake.sql(`SELECT sys_change_operation FROM raw.itct_vendas WHERE _job_id = ${second.id} AND id = '11'`), 'D');
  assert.equal(await lake.sql(`SELECT sys_change_operation FROM raw.itct_vendas WHERE _job_id = ${second.id} AND id = '900001'`), 'I');
  assert.equal(await lake.sql(`SELECT count(*) FROM raw.itct_vendas WHERE _job_id = ${second.id} AND id = '20'`), '0',
    'an uncommitted change is not read');
  assert.equal(await lake.sql(`SELECT count(*) FROM raw.itct_vendas WHERE _job_id = ${second.id} AND sys_change_version IS NULL`), '0');
  await assertTrustedEqualsTruth('vendas', VENDAS, 'itct_vendas');
  assert.equal(await lake.sql(`SELECT count(*) FROM trusted.itct_vendas WHERE id IN (11, 12) AND NOT _deleted`), '0', 'deletes applied');

  await sim.sql('COMMIT', late);
  const third = await runLoad(srv, source.id, 'incremental');
  assert.deepEqual(await landOps('itct_vendas', third.id), { U: 1 }, 'the late commit, and only it');
  assert.equal(await lake.sql(`SELECT count(*) FROM raw.itct_vendas WHERE id = '20' AND quantidade = '77'`), '1', 'loaded once');
  await assertTrustedEqualsTruth('vendas', VENDAS, 'itct_vendas');
  const fourth = await runLoad(srv, source.id, 'incremental');
  assert.deepEqual(await landOps('itct_vendas', fourth.id), {}, 'nothing changed, nothing loaded');
});

test('an offset older than the minimum valid version (cleanup, truncate): a full load is required, or options.on_ct_expired reloads', async () => {
  const source = await register(def('itexp', 'clientes', [
    ['id', 'bigint', true], ['nome', 'text'], ['email', 'text'], ['cidade', 'text'], ['uf', 'char(2)'],
    ['data_nascimento', 'date'], ['criado_em', 'timestamp'], ['updated_at', 'timestamp'],
  ]));
  await runLoad(srv, source.id, 'incremental');
  await sim.sql(`UPDATE dbo.clientes SET cidade = N'Manaus' WHERE id = 3`);
  await sim.sql('EXEC sim.ct_cleanup');
  const failed = await runLoad(srv, source.id, 'incremental', { expect: 'JOB_STATE_FAILED' });
  assert.equal(failed.error_kind, 'permanent');
  assert.equal(failed.attempt, 1);
  assert.match(failed.error, /a full load is required/);
  assert.match(failed.error, /minimum valid version/);

  await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: source.id }, body: { options: { on_ct_expired: 'reload' } } });
  const reloaded = await runLoad(srv, source.id, 'incremental');
  assert.equal(reloaded.steps.find((s) => s.name === 'land').snapshot, true);
  assert.match(reloaded.steps.find((s) => s.name === 'extract').notice, /reloaded in full/);
  const n = await assertTrustedEqualsTruth('clientes', [
    ['id', 'bigint', true], ['nome', 'text'], ['email', 'text'], ['cidade', 'text'], ['uf', 'text'],
    ['data_nascimento', 'date'], ['criado_em', 'timestamp'], ['updated_at', 'timestamp'],
  ], 'itexp_clientes');
  assert.ok(n > 0);

  // a truncate takes a new version and makes it the minimum valid one
  const t = await register(def('ittrunc', 'marcas', [['id', 'bigint', true], ['nome', 'text'], ['updated_at', 'timestamp']]));
  await runLoad(srv, t.id, 'incremental');
  await sim.sql('TRUNCATE TABLE dbo.marcas');
  await sim.sql(`INSERT INTO dbo.marcas (nome) VALUES (N'Única')`);
  const afterTruncate = await runLoad(srv, t.id, 'incremental', { expect: 'JOB_STATE_FAILED' });
  assert.match(afterTruncate.error, /a full load is required/);
  await runLoad(srv, t.id, 'full');
  assert.equal(await assertTrustedEqualsTruth('marcas', [['id', 'bigint', true], ['nome', 'text'], ['updated_at', 'timestamp']], 'ittrunc_marcas'), 1);
});

test('a table without change tracking: a permanent error naming it; by watermark it loads (rows marked U)', async () => {
  const cols = [['id', 'bigint', true], ['nome', 'text'], ['valor', 'integer']];
  const ct = await register(def('itnoct', 'sem_ct', cols));
  const failed = await runLoad(srv, ct.id, 'incremental', { expect: 'JOB_STATE_FAILED' });
  assert.equal(failed.error_kind, 'permanent');
  assert.equal(failed.attempt, 1);
  assert.match(failed.error, /change tracking is not enabled on \[dbo\]\.\[sem_ct\]/);

  const wm = await register(def('itwm', 'sem_ct', cols, { offset_mode: 'watermark', offset_column: 'id' }));
  await runLoad(srv, wm.id, 'incremental');
  assert.equal((await getSource(wm.id)).last_offset, '10');
  await sim.sql(`INSERT INTO dbo.sem_ct (id, nome, valor) VALUES (11, N'onze', 11), (12, N'doze', NULL)`);
  const next = await runLoad(srv, wm.id, 'incremental');
  assert.deepEqual(await landOps('itwm_sem_ct', next.id), { U: 2 });
  assert.equal((await getSource(wm.id)).last_offset, '12');
  assert.equal(await assertTrustedEqualsTruth('sem_ct', cols, 'itwm_sem_ct'), 12);

  // a datetime2 watermark: the offset is the ISO text, read back as a literal
  const cat = [['id', 'bigint', true], ['nome', 'text'], ['categoria_pai_id', 'bigint'], ['updated_at', 'timestamp']];
  const ts = await register(def('itwmts', 'categorias', cat, { offset_mode: 'watermark', offset_column: 'updated_at' }));
  await runLoad(srv, ts.id, 'incremental');
  const mark = (await getSource(ts.id)).last_offset;
  assert.match(mark, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$/, `the offset ${mark}`);
  await sim.sql(`INSERT INTO dbo.categorias (nome) VALUES (N'Jardim \\ Piscina')`);
  const later = await runLoad(srv, ts.id, 'incremental');
  assert.deepEqual(await landOps('itwmts_categorias', later.id), { U: 1 }, 'only the new row');
  assert.ok((await getSource(ts.id)).last_offset > mark);
  assert.equal(await lake.sql(`SELECT nome FROM trusted.itwmts_categorias WHERE nome LIKE 'Jardim%'`), 'Jardim \\ Piscina');
  await assertTrustedEqualsTruth('categorias', cat, 'itwmts_categorias');
});

test('the connection dropped mid-result: the attempt is retried, nothing doubled', async () => {
  const source = await register(def('itdrop', 'vendas', VENDAS, { load_type: 'full' }));
  await sim.sql(`EXEC sim.fault @kind = N'drop', @after = 1000`);
  const job = await runLoad(srv, source.id, 'full', { timeoutMs: 90_000 });
  assert.equal(job.attempt, 2, 'the first attempt lost its connection');
  const land = await lake.sql(`SELECT count(*), count(DISTINCT id) FROM raw.itdrop_vendas`);
  const n = await assertTrustedEqualsTruth('vendas', VENDAS, 'itdrop_vendas');
  assert.equal(land, `${n}|${n}`, 'RAW holds every row once');
});

test('a server error mid-result fails the attempt and is retried; snapshot isolation off is said on the job', async () => {
  const source = await register(def('iterr', 'lojas', [
    ['id', 'bigint', true], ['nome', 'text'], ['cnpj', 'text'], ['cidade', 'text'], ['uf', 'text'],
    ['criado_em', 'timestamp'], ['updated_at', 'timestamp'],
  ]));
  await sim.sql(`EXEC sim.fault @kind = N'error', @after = 3`);
  const first = await runLoad(srv, source.id, 'incremental', { timeoutMs: 90_000 });
  assert.equal(first.attempt, 2);
  await sim.sql('EXEC sim.snapshot_isolation @on = 0');
  try {
    await sim.sql(`UPDATE dbo.lojas SET cidade = N'Belém' WHERE id = 2`);
    const next = await runLoad(srv, source.id, 'incremental');
    assert.match(next.steps.find((s) => s.name === 'extract').notice, /Snapshot isolation is off/);
    assert.deepEqual(await landOps('iterr_lojas', next.id), { U: 1 });
  } finally {
    await sim.sql('EXEC sim.snapshot_isolation @on = 1');
  }
});

test('a wrong password: a permanent failure at attempt 1, and no part of the secret in the job or the logs', async () => {
  const bad = await register(def('itpw', 'marcas', [['id', 'bigint', true], ['nome', 'text']], { connection_secret: `env:${BAD_ENV}`, load_type: 'full' }));
  const job = await runLoad(srv, bad.id, 'full', { expect: 'JOB_STATE_FAILED' });
  assert.equal(job.attempt, 1);
  assert.equal(job.error_kind, 'permanent');
  assert.match(job.error, /refused the login/);
  const answers = JSON.stringify(job) + JSON.stringify((await srv.call('GET', '/v1/jobs', 200, {})).body) +
    JSON.stringify((await srv.call('GET', '/v1/sources/{id}', 200, { params: { id: bad.id } })).body);
  for (const [where, text] of [['the answers', answers], ['the logs', srv.stderr + srv.stdout]]) {
    for (const part of [BAD_PASSWORD, encodeURIComponent(BAD_PASSWORD), MSSQL_PASSWORD, `:${sim.port}/`, 'sqlserver://']) {
      assert.ok(!text.includes(part), `${where} show a part of the secret (${part === BAD_PASSWORD ? 'the password' : part})`);
    }
  }
  assert.ok(srv.stderr.length > 0, 'the server logged');
});

// Rows every 50 ms: the extractor's own per-row check sees the cancel; a
// row every 4 s: db-lib's once-a-second interrupt check sends the attention
// while it waits.
for (const ms of [50, 4000]) {
  test(`a cancel stops the source query within about a second (a row every ${ms} ms)`, async () => {
    const source = await register(def(`itcancel${ms}`, 'vendas', VENDAS, { load_type: 'full' }));
    await sim.sql(`EXEC sim.fault @kind = N'slow', @ms = ${ms}, @count = 1`);
    const job = await startLoad(srv, source.id, 'full');
    await waitJob(srv, job.id, { pred: (j) => j.state === 'JOB_STATE_RUNNING', timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1500)); // the query is under way, waiting on slow rows
    const t0 = Date.now();
    await srv.call('POST', '/v1/jobs/{id}/cancel', 202, { params: { id: job.id } });
    const done = await waitJob(srv, job.id, { timeoutMs: 10_000 });
    const took = Date.now() - t0;
    assert.equal(done.state, 'JOB_STATE_CANCELLED', done.error);
    assert.ok(took < 2500, `cancelled in ${took} ms`);
    await sim.sql(`EXEC sim.fault @kind = N'clear'`);
    assert.equal(await lake.sql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'land' AND tablename LIKE 'j${job.id}\\_%'`), '0',
      'the cancelled load left no LAND partition');
  });
}

test('options.query_timeout: a source silent that long fails the attempt (transient), the retry loads', async () => {
  const source = await register(def('ittimeout', 'marcas', [['id', 'bigint', true], ['nome', 'text'], ['updated_at', 'timestamp']],
    { load_type: 'full', options: { query_timeout: 1 } }));
  await sim.sql(`EXEC sim.fault @kind = N'slow', @ms = 5000, @count = 1`);
  const t0 = Date.now();
  const job = await runLoad(srv, source.id, 'full', { timeoutMs: 60_000 });
  assert.equal(job.attempt, 2, 'the first attempt timed out');
  const log = srv.logs.find((l) => l.job_id === job.id && /did not answer the query for 1 s \(query_timeout\)/.test(JSON.stringify(l)));
  assert.ok(log, 'the first attempt failed on the query timeout');
  assert.ok(Date.now() - t0 < 30_000);
  await assertTrustedEqualsTruth('marcas', [['id', 'bigint', true], ['nome', 'text'], ['updated_at', 'timestamp']], 'ittimeout_marcas');
});

test('kill -9 mid-load: a new server takes the job back and loads every row exactly once', async () => {
  const source = await register(def('itkill', 'vendas', VENDAS, { load_type: 'full' }));
  await srv.stop();
  const victim = await lake.startServer({ env: serverEnv({ SHOPPERLAKE_WORKERS: 1 }) });
  await sim.sql(`EXEC sim.fault @kind = N'slow', @ms = 20, @count = 1`);
  const job = await startLoad(victim, source.id, 'full');
  await waitJob(victim, job.id, { pred: (j) => j.state === 'JOB_STATE_RUNNING', timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 700));
  victim.proc.kill('SIGKILL');
  await victim.exited;
  lake.servers.delete(victim);
  await sim.sql(`EXEC sim.fault @kind = N'clear'`);
  srv = await lake.startServer({ env: serverEnv() });
  const done = await waitJob(srv, job.id, { timeoutMs: 60_000 });
  assert.equal(done.state, 'JOB_STATE_DONE', done.error);
  assert.equal(done.attempt, 2);
  const n = await assertTrustedEqualsTruth('vendas', VENDAS, 'itkill_vendas');
  assert.equal(await lake.sql(`SELECT count(*), count(DISTINCT id) FROM raw.itkill_vendas`), `${n}|${n}`);
  assert.equal(await lake.sql(`SELECT count(*) FROM raw.itkill_vendas`), String(n));
});

test('discovery lists the tables (types mapped, keys, change tracking) and bulk registration takes them, all or nothing', async () => {
  const res = await srv.call('POST', '/v1/discover', 200, {
    body: { source_type: 'sqlserver', connection_secret: `env:${SECRET_ENV}`, schema: 'dbo', system: 'itdisc' },
  });
  const d = res.body;
  assert.equal(d.database, 'marketplace');
  assert.equal(d.snapshot_isolation, true);
  assert.equal(d.change_tracking.enabled, true);
  assert.equal(d.change_tracking.retention_period, 2);
  assert.equal(d.change_tracking.retention_units, 'DAYS');
  const byName = Object.fromEntries(d.tables.map((t) => [t.object, t]));
  for (const t of ['categorias', 'marcas', 'produtos', 'lojas', 'clientes', 'promocoes', 'vendas', 'tipos', 'sem_ct']) {
    assert.ok(byName[t], `table ${t} discovered`);
  }
  const vendas = byName.vendas;
  assert.deepEqual(vendas.primary_key, ['id']);
  assert.equal(vendas.change_tracking, true);
  assert.deepEqual(vendas.columns.map((c) => [c.name, c.type]), VENDAS.map(([n, t]) => [n, t === 'timestamp' ? 'timestamp' : t]));
  assert.equal(vendas.columns.find((c) => c.name === 'preco_unitario').source_type, 'decimal(12,2)');
  assert.equal(byName.sem_ct.change_tracking, false);
  assert.equal(byName.sem_ct.definition.load_type, 'full');
  // every type of dbo.tipos maps to the TRUSTED type the round-trip test uses
  assert.deepEqual(byName.tipos.columns.map((c) => [c.name, c.type]), TIPOS.map(([n, t]) => [n, t]));
  assert.equal(byName.tipos.columns.find((c) => c.name === 'c_nvarchar_max').source_type, 'nvarchar(max)');
  assert.deepEqual(vendas.definition, {
    source_type: 'sqlserver', database: 'marketplace', schema: 'dbo', object: 'vendas', load_type: 'incremental',
    offset_mode: 'change_tracking', system: 'itdisc', connection_secret: `env:${SECRET_ENV}`,
    columns: VENDAS.map(([name, type, key]) => (key ? { name, type, key: true } : { name, type })),
  });

  // all or nothing: one bad definition, nothing registered
  const defs = d.tables.filter((t) => ['marcas', 'vendas', 'sem_ct'].includes(t.object)).map((t) => t.definition);
  const broken = structuredClone(defs);
  broken[2].columns[1].type = 'blob';
  const refused = await srv.call('POST', '/v1/sources/batch', 422, { body: { sources: broken } });
  assert.equal(refused.body.field, 'sources[2].columns[1].type');
  const listed = await srv.call('GET', '/v1/sources', 200, { query: { system: 'itdisc' } });
  assert.equal(listed.body.items.length, 0, 'nothing registered');
  const taken = await srv.call('POST', '/v1/sources/batch', 409, { body: { sources: [defs[0], defs[0]] } });
  assert.match(taken.body.detail, /already/);
  assert.equal((await srv.call('GET', '/v1/sources', 200, { query: { system: 'itdisc' } })).body.items.length, 0);

  const created = await srv.call('POST', '/v1/sources/batch', 201, { body: { sources: defs } });
  assert.deepEqual(created.body.items.map((s) => s.object), ['marcas', 'vendas', 'sem_ct']);
  const v = created.body.items.find((s) => s.object === 'vendas');
  await runLoad(srv, v.id, 'incremental');
  await assertTrustedEqualsTruth('vendas', VENDAS, 'itdisc_vendas');

  // PostgreSQL sources are discovered the same way (the lake's own database stands in)
  const pg = await srv.call('POST', '/v1/discover', 200, {
    body: { source_type: 'postgresql', connection_secret: 'env:LAKE_SECRET_IT_PG_URL', schema: 'control' },
  });
  const sources = pg.body.tables.find((t) => t.object === 'sources');
  assert.ok(sources, 'control.sources discovered');
  assert.deepEqual(sources.primary_key, ['id']);
  assert.equal(sources.columns.find((c) => c.name === 'id').type, 'bigint');

  // a refused login is the request's fault, without the secret
  const bad = await srv.call('POST', '/v1/discover', 422, { body: { source_type: 'sqlserver', connection_secret: `env:${BAD_ENV}` } });
  assert.equal(bad.body.field, 'connection_secret');
  assert.match(bad.body.detail, /refused the login/);
  assert.ok(!JSON.stringify(bad.body).includes(BAD_PASSWORD));
  const kind = await srv.call('POST', '/v1/discover', 422, { body: { source_type: 'api', connection_secret: `env:${SECRET_ENV}` } });
  assert.equal(kind.body.field, 'source_type');
});

test('the demo: sql/demo/sources_sqlserver.json, marketplace_sqlserver_full and _incremental, and the REFINED reports from SQL Server-loaded TRUSTED', async () => {
  const defs = JSON.parse(readFileSync(path.join(ROOT, 'sql/demo/sources_sqlserver.json'), 'utf8'));
  await srv.call('POST', '/v1/sources/batch', 201, { body: { sources: defs } });
  await runPipeline(srv, 'marketplace_sqlserver_full');
  await runPipeline(srv, 'marketplace_sqlserver_incremental');
  await sim.sql('EXEC sim.change_sales @pct = 1');
  const run = await runPipeline(srv, 'marketplace_sqlserver_incremental');
  assert.ok(run.jobs.length >= 4);
  for (const d of defs) {
    const cols = d.columns.map((c) => [c.name, c.type === 'char(2)' ? 'text' : c.type, c.key]);
    await assertTrustedEqualsTruth(d.object, cols, `marketplace_${d.object}`);
  }
  // vendas_diarias from TRUSTED equals the same sums over the simulator's truth
  const t = lastTruthTable; // the truth of dbo.vendas (the last table of the file)
  assert.equal(defs[defs.length - 1].object, 'vendas');
  const got = await lake.sql(`SELECT count(*), sum(vendas), sum(receita) FROM (SELECT dia, sum(vendas) AS vendas, sum(receita) AS receita
    FROM refined.vendas_diarias GROUP BY dia) r`);
  const want = await lake.sql(`SELECT count(DISTINCT (data_venda::timestamptz AT TIME ZONE 'America/Sao_Paulo')::date), count(*), sum(total::numeric)
    FROM public.${t}`);
  assert.equal(got, want, 'days, sales and revenue of refined.vendas_diarias equal the source');
  const top = await lake.sql('SELECT count(*) FROM refined.top_produtos');
  assert.ok(Number(top) > 0, 'refined.top_produtos is built');
});

test('Change Tracking headroom: a warning before the changes since the offset expire, critical once they are gone (issue 12)', async () => {
  const s = await register(def('hroom', 'lojas', [['id', 'bigint', true], ['nome', 'text'], ['uf', 'text']]));
  await runLoad(srv, s.id, 'incremental');
  await sim.sql('EXEC sim.retention @minutes = 10');
  const alerts = (name) => lake.sql(`SELECT count(*) FROM control.alerts WHERE dedup_key = '${name}:${s.id}' AND state = 'firing'`);
  // a server whose own period runs the monitoring checks every second
  let mon = await lake.startServer({ env: serverEnv({ SHOPPERLAKE_WORKERS: 0, SHOPPERLAKE_MONITOR_INTERVAL: 1 }) });
  await poll(async () => (await lake.sql(`SELECT retention_seconds || '|' || offset_lost FROM control.ct_headroom WHERE source_id = ${s.id}`)) === '600|false',
    { what: 'the headroom measured: 10 minutes of retention, the offset still valid', timeoutMs: 20_000 });
  assert.equal(await alerts('CtHeadroomLow'), '0', 'just loaded: plenty of headroom');
  const fresh = (await mon.call('GET', '/v1/sources/{id}', 200, { params: { id: s.id }, token: 'reader' })).body.ct_headroom;
  assert.equal(fresh.retention_seconds, 600, JSON.stringify(fresh));
  assert.equal(fresh.offset_lost, false);
  assert.ok(fresh.seconds > 500 && fresh.seconds <= 600, `seconds left just after the load: ${fresh.seconds}`);
  await mon.stop();
  // eight minutes after the load, less than a quarter of the retention is left
  const later = JSON.parse(await lake.sql("SELECT control.monitoring_checks(now() + interval '8 minutes', 'all')"));
  assert.ok(later.fired.some((f) => f.dedup_key === `CtHeadroomLow:${s.id}` && f.severity === 'warning'), JSON.stringify(later));
  assert.match(later.fired.find((f) => f.dedup_key === `CtHeadroomLow:${s.id}`).summary, /hroom\.lojas: change tracking keeps the changes since the last load for about/);
  // a change after the offset, then the source cleans up past it: the change is gone
  await sim.sql(`UPDATE dbo.lojas SET nome = N'Loja Reformada' WHERE id = 1`);
  await sim.sql('EXEC sim.ct_cleanup');
  mon = await lake.startServer({ env: serverEnv({ SHOPPERLAKE_WORKERS: 0, SHOPPERLAKE_MONITOR_INTERVAL: 1 }) });
  await poll(async () => (await alerts('CtHeadroomExhausted')) === '1', { what: 'CtHeadroomExhausted firing', timeoutMs: 20_000 });
  assert.match(await lake.sql(`SELECT summary FROM control.alerts WHERE dedup_key = 'CtHeadroomExhausted:${s.id}' AND state = 'firing'`),
    /minimum valid version \d+ passed the stored offset \d+: changes were cleaned up, a full load is needed/);
  const lost = (await mon.call('GET', '/v1/sources/{id}', 200, { params: { id: s.id }, token: 'reader' })).body.ct_headroom;
  assert.equal(lost.offset_lost, true, JSON.stringify(lost));
  assert.equal(lost.seconds, 0);
  assert.ok(lost.min_valid_version > lost.offset_version, JSON.stringify(lost));
  const metrics = await mon.request('GET', '/metrics', { token: 'reader' });
  assert.match(metrics.text, new RegExp(`shopperlake_source_ct_headroom_seconds\\{source="hroom.lojas"\\} 0\\b`));
  // the full load it asks for takes a new offset: the alert resolves
  await runLoad(srv, s.id, 'full');
  await poll(async () => (await alerts('CtHeadroomExhausted')) === '0', { what: 'CtHeadroomExhausted resolved', timeoutMs: 20_000 });
  assert.equal(await lake.sql(`SELECT count(*) FROM control.alerts WHERE dedup_key = 'CtHeadroomExhausted:${s.id}' AND state = 'resolved'`), '1');
  const after = (await mon.call('GET', '/v1/sources/{id}', 200, { params: { id: s.id }, token: 'reader' })).body.ct_headroom;
  assert.equal(after.offset_lost, false, JSON.stringify(after));
  assert.ok(after.seconds > 500, JSON.stringify(after));
  await mon.stop();
});
