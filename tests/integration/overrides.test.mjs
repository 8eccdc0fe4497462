// Per-table overrides of the layer SQL (sql/layers/README.md) with real
// loads: a server whose SHOPPERLAKE_HOME is a temp copy of sql/ and openapi/,
// so override files can be added, changed and removed between loads (the
// runner reads them at each job).
//
// - a TRUSTED override builds its own shape; the job's trusted step says
//   override, a second load leaves the same rows, declared checks still run
//   (a violating override fails the job naming the check; fixed, it is DONE);
// - a RAW override appends only some rows: RAW holds those, LAND all;
// - a broken override (an SQL error) fails the job permanently with the
//   error: for TRUSTED nothing of the job reaches TRUSTED; for RAW the whole
//   load rolls back (no LAND rows of the job, last_offset unchanged);
// - a sqlserver source whose secret is not set: a load fails permanently at
//   attempt 1 saying so (sqlserver.test.mjs tests the kind itself).
//
// Each test uses its own `system`, so its lake tables are its own.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Lake, ROOT } from './lib/harness.mjs';
import {
  FINAL_STATES,
  SourceDb,
  assertSameRows,
  assertTrustedEqualsSource,
  demoSources,
  dumpRows,
  marketplaceEnv,
  runLoad,
  startLoad,
  waitJob,
} from './lib/marketplace.mjs';

let lake;
let src;
let srv;
let home;
const defs = Object.fromEntries(demoSources().map((d) => [d.object, d]));

before(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'shopperlake-ovr-'));
  cpSync(path.join(ROOT, 'sql'), path.join(home, 'sql'), { recursive: true });
  cpSync(path.join(ROOT, 'openapi'), path.join(home, 'openapi'), { recursive: true });
  lake = await Lake.create('overrides');
  src = await SourceDb.create('overrides', { sales: 200 });
  srv = await lake.startServer({ env: marketplaceEnv(src, { SHOPPERLAKE_HOME: home, SHOPPERLAKE_WORKERS: 2 }) });
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    try {
      await src?.drop();
    } finally {
      if (home) rmSync(home, { recursive: true, force: true });
    }
  }
});

// --- helpers -------------------------------------------------------------

// Registers a copy of the demo definition of `object` under another system.
async function register(system, object, patch = {}) {
  const def = { ...defs[object], system, ...patch };
  const res = await srv.call('POST', '/v1/sources', 201, { body: def });
  return res.body;
}

async function getSource(id) {
  return (await srv.call('GET', '/v1/sources/{id}', 200, { params: { id }, token: 'reader' })).body;
}

function overridePath(table, step) {
  return path.join(home, 'sql/layers', `${table}.${step}.sql`);
}

function writeOverride(table, step, sql) {
  writeFileSync(overridePath(table, step), sql);
}

function removeOverride(table, step) {
  rmSync(overridePath(table, step), { force: true });
}

const count = async (sql) => Number(await lake.sql(sql));
const srcCount = async (sql) => Number(await src.sql(sql));
const exists = async (rel) => (await lake.sql(`SELECT to_regclass('${rel}') IS NOT NULL`)) === 't';
const stepOf = (job, name) => job.steps.find((s) => s.name === name);

async function columnsOf(schema, table) {
  const out = await lake.sql(
    `SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns ` +
      `WHERE table_schema = '${schema}' AND table_name = '${table}'`,
  );
  return out.split(',');
}

// --- 1. a TRUSTED override -------------------------------------------------

// Only id, the name upper-cased and the parent; the job's rows replace the
// table (a full source), so running it twice for one job changes nothing.
const trustedOverride = (t, parent = 'categoria_pai_id::bigint') => `
CREATE TABLE IF NOT EXISTS trusted.${t} (
    id bigint PRIMARY KEY,
    nome text NOT NULL,
    categoria_pai_id bigint,
    _job_id bigint NOT NULL,
    _deleted boolean NOT NULL DEFAULT false
);
DELETE FROM trusted.${t};
INSERT INTO trusted.${t} (id, nome, categoria_pai_id, _job_id)
SELECT id::bigint, upper(nome), ${parent}, _job_id
  FROM raw.${t}
 WHERE _job_id = current_setting('shopperlake.job_id')::bigint;
`;

test('a TRUSTED override builds the table its own way; reruns keep its rows; declared checks still run', async () => {
  const t = 'ovtrust_categorias';
  const source = await register('ovtrust', 'categorias');
  writeOverride(t, 'trusted', trustedOverride(t));

  const want = await dumpRows(src.name, 'SELECT id, upper(nome), categoria_pai_id FROM categorias');
  assert.ok(want.length > 0, 'the source has categories');
  const got = () => dumpRows(lake.db, `SELECT id, nome, categoria_pai_id FROM trusted.${t}`);

  const first = await runLoad(srv, source.id, 'full');
  const trusted1 = stepOf(first, 'trusted');
  assert.ok(trusted1, `a trusted step in ${JSON.stringify(first.steps)}`);
  assert.equal(trusted1.state, 'JOB_STATE_DONE');
  assert.equal(trusted1.result?.override, true, `trusted result ${JSON.stringify(trusted1.result)}`);
  assert.equal(stepOf(first, 'checks')?.state, 'JOB_STATE_DONE', 'the declared not_null(nome) check ran and passed');
  // RAW is still the generated append; the generated merge did not run.
  assert.equal(await count(`SELECT count(*) FROM raw.${t} WHERE _job_id = ${first.id}`), want.length, 'raw rows of the job');
  assert.equal(await exists(`trusted.${t}_quarantine`), false, 'no quarantine table: the generated merge did not run');
  assert.deepEqual(await columnsOf('trusted', t), ['id', 'nome', 'categoria_pai_id', '_job_id', '_deleted'], 'the override\'s shape');
  assertSameRows(await got(), want, `trusted.${t} after the first load`);
  assert.equal(await count(`SELECT count(*) FROM trusted.${t} WHERE _job_id <> ${first.id}`), 0);

  // The query API serves the override's table.
  const api = await srv.call('GET', '/v1/tables/{layer}/{table}', 200, {
    params: { layer: 'trusted', table: t },
    query: { limit: 1000 },
    token: 'reader',
  });
  assert.equal(api.body.items.length, want.length, 'rows served by the query API');
  assert.ok(api.body.items.every((r) => r.nome === r.nome.toUpperCase()), 'upper-cased names served');

  // A second load: the same rows (now of the second job).
  const second = await runLoad(srv, source.id, 'full');
  assert.equal(stepOf(second, 'trusted')?.result?.override, true);
  assertSameRows(await got(), want, `trusted.${t} after the second load`);
  assert.equal(await count(`SELECT count(*) FROM trusted.${t} WHERE _job_id <> ${second.id}`), 0);
  assert.deepEqual(await columnsOf('trusted', t), ['id', 'nome', 'categoria_pai_id', '_job_id', '_deleted']);

  // A check the override's output violates (top-level categories have no parent).
  const roots = await count(`SELECT count(*) FROM trusted.${t} WHERE categoria_pai_id IS NULL`);
  assert.ok(roots > 0, 'some categories have no parent');
  await srv.call('PATCH', '/v1/sources/{id}', 200, {
    params: { id: source.id },
    body: { options: { checks: [{ check: 'not_null', column: 'nome' }, { check: 'not_null', column: 'categoria_pai_id' }] } },
  });
  const failed = await runLoad(srv, source.id, 'full', { expect: 'JOB_STATE_FAILED' });
  assert.equal(failed.error_kind, 'permanent', `error_kind of ${JSON.stringify(failed)}`);
  assert.equal(failed.attempt, 1);
  assert.match(failed.error, /not_null/);
  assert.match(failed.error, /categoria_pai_id/);
  assert.equal(stepOf(failed, 'trusted')?.result?.override, true);
  assert.equal(stepOf(failed, 'checks')?.state, 'JOB_STATE_FAILED', `steps ${JSON.stringify(failed.steps)}`);
  // the previous TRUSTED stays
  assertSameRows(await got(), want, `trusted.${t} after the failed check`);
  assert.equal(await count(`SELECT count(*) FROM trusted.${t} WHERE _job_id <> ${second.id}`), 0, 'still the second job\'s rows');

  // Fixed: the override gives roots parent 0.
  writeOverride(t, 'trusted', trustedOverride(t, 'coalesce(categoria_pai_id::bigint, 0)'));
  const fixed = await runLoad(srv, source.id, 'full');
  assert.equal(stepOf(fixed, 'checks')?.state, 'JOB_STATE_DONE');
  assertSameRows(
    await got(),
    await dumpRows(src.name, 'SELECT id, upper(nome), coalesce(categoria_pai_id, 0) FROM categorias'),
    `trusted.${t} after the fix`,
  );
  assert.equal(await count(`SELECT count(*) FROM trusted.${t} WHERE _job_id <> ${fixed.id}`), 0);
});

// --- 2. a RAW override -----------------------------------------------------

test('a RAW override appends only some rows: RAW holds exactly those, LAND all of the job\'s', async () => {
  const t = 'ovraw_marcas';
  const source = await register('ovraw', 'marcas');
  writeOverride(
    t,
    'raw',
    `
CREATE TABLE IF NOT EXISTS raw.${t} (LIKE land.${t});
INSERT INTO raw.${t}
SELECT * FROM land.${t} l
 WHERE l._job_id = current_setting('shopperlake.job_id')::bigint
   AND l.id::bigint % 2 = 0
   AND NOT EXISTS (SELECT 1 FROM raw.${t} r WHERE r._job_id = l._job_id);
`,
  );
  const all = await srcCount(`SELECT count(*) FROM marcas`);
  const even = await srcCount(`SELECT count(*) FROM marcas WHERE id % 2 = 0`);
  assert.ok(even > 0 && even < all, `some but not all brands are even (${even} of ${all})`);

  for (let i = 0; i < 2; i++) {
    const job = await runLoad(srv, source.id, 'full');
    assert.equal(stepOf(job, 'raw')?.state, 'JOB_STATE_DONE');
    assert.equal(job.rows_written, all, 'the job wrote every row to LAND');
    assert.equal(await count(`SELECT count(*) FROM land.${t} WHERE _job_id = ${job.id}`), all, 'LAND: all rows of the job');
    assertSameRows(
      await dumpRows(lake.db, `SELECT id, nome, updated_at FROM raw.${t} WHERE _job_id = ${job.id}`),
      await dumpRows(src.name, `SELECT id, nome, updated_at FROM marcas WHERE id % 2 = 0`),
      `raw.${t} of job ${job.id}`,
    );
    assert.equal(await count(`SELECT count(*) FROM raw.${t} WHERE id::bigint % 2 <> 0`), 0, 'no odd row ever reached RAW');
    // TRUSTED (the generated merge) follows RAW.
    assertSameRows(
      await dumpRows(lake.db, `SELECT id, nome, updated_at FROM trusted.${t} WHERE NOT _deleted`),
      await dumpRows(src.name, `SELECT id, nome, updated_at FROM marcas WHERE id % 2 = 0`),
      `trusted.${t} after load ${i + 1}`,
    );
  }
});

test('a RAW override added once RAW exists (by day, then by job): its rows go to the day\'s DEFAULT partition and TRUSTED takes them', async () => {
  const t = 'ovlate_marcas';
  const source = await register('ovlate', 'marcas');
  const first = await runLoad(srv, source.id, 'full'); // the generated RAW: LAND's partition attached
  assert.equal(stepOf(first, 'raw').attached, true);
  writeOverride(
    t,
    'raw',
    `
INSERT INTO raw.${t}
SELECT * FROM land.${t} l
 WHERE l._job_id = current_setting('shopperlake.job_id')::bigint AND l.id::bigint % 2 = 0;
`,
  );
  try {
    const job = await runLoad(srv, source.id, 'full');
    const even = await srcCount(`SELECT count(*) FROM marcas WHERE id % 2 = 0`);
    assert.equal(await count(`SELECT count(*) FROM raw.${t} WHERE _job_id = ${job.id}`), even);
    assert.match(await lake.sql(`SELECT DISTINCT tableoid::regclass::text FROM raw.${t} WHERE _job_id = ${job.id}`), /_other$/);
    assertSameRows(
      await dumpRows(lake.db, `SELECT id, nome, updated_at FROM trusted.${t} WHERE NOT _deleted`),
      await dumpRows(src.name, `SELECT id, nome, updated_at FROM marcas WHERE id % 2 = 0`),
      `trusted.${t}: the override's snapshot`,
    );
  } finally {
    removeOverride(t, 'raw');
  }
});

// --- 3. broken overrides ---------------------------------------------------

test('a broken TRUSTED override fails the job permanently with the SQL error; nothing of the job reaches TRUSTED', async () => {
  const t = 'ovbad_lojas';
  const source = await register('ovbad', 'lojas');
  const good = await runLoad(srv, source.id, 'full'); // the generated layers
  await assertTrustedEqualsSource(lake, src, { ...defs.lojas, system: 'ovbad' });
  const before = await dumpRows(lake.db, `SELECT * FROM trusted.${t}`);

  // Writes the job's rows, then fails.
  writeOverride(
    t,
    'trusted',
    `
UPDATE trusted.${t} SET _job_id = current_setting('shopperlake.job_id')::bigint, nome = 'x';
SELECT no_such_column FROM raw.${t};
`,
  );
  try {
    const job = await runLoad(srv, source.id, 'full', { expect: 'JOB_STATE_FAILED' });
    assert.equal(job.error_kind, 'permanent', JSON.stringify(job));
    assert.equal(job.attempt, 1, 'not retried');
    assert.match(job.error, /trusted override/);
    assert.match(job.error, /no_such_column/);
    assert.ok(job.loaded_at, 'the load itself committed before TRUSTED');
    assert.equal(await count(`SELECT count(*) FROM trusted.${t} WHERE _job_id = ${job.id}`), 0, 'nothing of the job in TRUSTED');
    assertSameRows(await dumpRows(lake.db, `SELECT * FROM trusted.${t}`), before, `trusted.${t} untouched`);
    assert.ok(job.id > good.id);
  } finally {
    removeOverride(t, 'trusted');
  }
  // Without the override the next load merges again.
  await runLoad(srv, source.id, 'full');
  await assertTrustedEqualsSource(lake, src, { ...defs.lojas, system: 'ovbad' });
});

test('a broken RAW override fails the job permanently and rolls the whole load back', async () => {
  const t = 'ovbad_clientes';
  const def = { ...defs.clientes, system: 'ovbad' };
  const source = await register('ovbad', 'clientes');
  const first = await runLoad(srv, source.id, 'incremental'); // a snapshot, generated RAW
  const offset = (await getSource(source.id)).last_offset;
  assert.ok(offset, 'the first load set an offset');
  assert.equal(first.offset_after, offset);

  const changed = await src.changes(30, 50, 40);
  assert.ok(changed.inserted + changed.updated + changed.deleted > 0, 'the source changed');
  const landBefore = await count(`SELECT count(*) FROM land.${t}`);
  const rawBefore = await count(`SELECT count(*) FROM raw.${t}`);

  writeOverride(
    t,
    'raw',
    `
INSERT INTO raw.${t} SELECT * FROM land.${t} WHERE _job_id = current_setting('shopperlake.job_id')::bigint;
SELECT * FROM no_such_table;
`,
  );
  let job;
  try {
    job = await runLoad(srv, source.id, 'incremental', { expect: 'JOB_STATE_FAILED' });
    assert.equal(job.error_kind, 'permanent', JSON.stringify(job));
    assert.equal(job.attempt, 1, 'not retried');
    assert.match(job.error, /raw override/);
    assert.match(job.error, /no_such_table/);
    assert.equal(job.loaded_at, null, 'the load did not commit');
    assert.equal(await count(`SELECT count(*) FROM land.${t} WHERE _job_id = ${job.id}`), 0, 'no LAND rows of the job');
    assert.equal(await count(`SELECT count(*) FROM raw.${t} WHERE _job_id = ${job.id}`), 0, 'no RAW rows of the job');
    assert.equal(await count(`SELECT count(*) FROM land.${t}`), landBefore);
    assert.equal(await count(`SELECT count(*) FROM raw.${t}`), rawBefore);
    assert.equal((await getSource(source.id)).last_offset, offset, 'last_offset unchanged');
  } finally {
    removeOverride(t, 'raw');
  }
  // Without the override the next load takes the changes from the old offset.
  const next = await runLoad(srv, source.id, 'incremental');
  assert.equal(next.offset_before, offset, 'the next load starts from the unchanged offset');
  await assertTrustedEqualsSource(lake, src, def);
});

// --- 4. sqlserver ------------------------------------------------------------

test('a sqlserver source whose secret is not set: a load fails permanently at attempt 1', async () => {
  const source = await register('ovmssql', 'clientes', {
    source_type: 'sqlserver',
    connection_secret: 'env:LAKE_SECRET_OVR_MSSQL_URL',
    load_type: 'full',
    offset_mode: 'none',
    schema: 'dbo',
  });
  assert.equal(source.source_type, 'sqlserver');
  const job = await runLoad(srv, source.id, 'full', { expect: 'JOB_STATE_FAILED', timeoutMs: 20_000 });
  assert.equal(job.attempt, 1, JSON.stringify(job));
  assert.equal(job.error_kind, 'permanent');
  assert.match(job.error, /connection_secret/);
  assert.match(job.error, /LAKE_SECRET_OVR_MSSQL_URL is not set/);
  assert.equal(job.loaded_at, null);
  assert.equal(await exists('land.ovmssql_clientes') && (await count('SELECT count(*) FROM land.ovmssql_clientes')) > 0, false);
  assert.equal((await getSource(source.id)).last_offset, null);
});

// --- regressions: bugs these tests found, now fixed -------------------------

// A TRUSTED override whose table has no `_deleted` column (the README only
// asks to keep the table's name) and a source that declares a check:
// layers.run_checks filters `WHERE NOT _deleted`, fails with an SQL error,
// and layers_trusted() records it as a transient "checks:" failure, so a
// deterministic error is retried with backoff up to max_attempts. Either the
// checks should work on such a table (DONE) or the job should fail at once
// (permanent) saying what the table lacks.
test('a TRUSTED override without _deleted plus a declared check is not retried as transient', async () => {
  const t = 'ovnodel_categorias';
  const source = await register('ovnodel', 'categorias'); // declares not_null(nome)
  writeOverride(
    t,
    'trusted',
    `
CREATE TABLE IF NOT EXISTS trusted.${t} (id bigint PRIMARY KEY, nome text);
DELETE FROM trusted.${t};
INSERT INTO trusted.${t} SELECT id::bigint, upper(nome) FROM raw.${t}
 WHERE _job_id = current_setting('shopperlake.job_id')::bigint;
`,
  );
  const { id } = await startLoad(srv, source.id, 'full');
  try {
    const job = await waitJob(srv, id, { pred: (j) => FINAL_STATES.includes(j.state) || j.attempt >= 2, timeoutMs: 20_000 });
    assert.ok(
      job.state === 'JOB_STATE_DONE' || (job.state === 'JOB_STATE_FAILED' && job.error_kind === 'permanent' && job.attempt === 1),
      `expected DONE, or FAILED permanent at attempt 1; got ${job.state} attempt ${job.attempt} ${job.error_kind}: ${job.error}`,
    );
  } finally {
    removeOverride(t, 'trusted');
    await srv.request('POST', `/v1/jobs/${id}/cancel`);
  }
});

// When TRUSTED fails after the load committed, the trusted step that
// layers_trusted() appended before the checks ran is recorded as
// JOB_STATE_DONE although its transaction was rolled back (only a failed
// check rewrites it to FAILED); the retry then appends another one, so the
// job lists several "trusted" steps, all DONE, none of which happened.
test('a rolled-back TRUSTED step is not recorded as DONE, nor repeated by the retry', async () => {
  const t = 'ovsteps_categorias';
  const source = await register('ovsteps', 'categorias');
  // The override itself succeeds; the checks after it fail with an SQL error
  // (no _deleted column): a transient failure after the trusted step.
  writeOverride(t, 'trusted', `CREATE TABLE IF NOT EXISTS trusted.${t} (id bigint PRIMARY KEY);`);
  const { id } = await startLoad(srv, source.id, 'full');
  try {
    // the second attempt ran its layer steps (or the job ended)
    const last = await waitJob(srv, id, {
      pred: (j) => FINAL_STATES.includes(j.state) || (j.attempt >= 2 && j.state !== 'JOB_STATE_RUNNING'),
      timeoutMs: 20_000,
    });
    assert.equal(await exists(`trusted.${t}`), false, 'the TRUSTED transaction was rolled back');
    const trustedSteps = last.steps.filter((s) => s.name === 'trusted');
    assert.deepEqual(
      trustedSteps.filter((s) => s.state === 'JOB_STATE_DONE'),
      [],
      `no rolled-back trusted step is DONE (job ${last.state}, attempt ${last.attempt}): ${JSON.stringify(last.steps)}`,
    );
    assert.ok(trustedSteps.length <= 1, `one trusted step, not one per attempt: ${JSON.stringify(trustedSteps)}`);
  } finally {
    removeOverride(t, 'trusted');
    await srv.request('POST', `/v1/jobs/${id}/cancel`);
  }
});

// A load that fails after LAND (here a broken RAW override) rolls LAND back,
// yet the job keeps "extract" and "land" steps JOB_STATE_DONE with the rows
// counted, while rows_written is 0 and LAND holds nothing of the job.
test('a rolled-back load does not report its land step DONE', async () => {
  const t = 'ovland_marcas';
  const source = await register('ovland', 'marcas');
  writeOverride(t, 'raw', 'SELECT * FROM no_such_table;');
  try {
    const job = await runLoad(srv, source.id, 'full', { expect: 'JOB_STATE_FAILED' });
    assert.equal(await exists(`land.${t}`), false, 'even the LAND table was rolled back');
    assert.equal(job.rows_written, 0);
    const land = stepOf(job, 'land');
    assert.ok(
      !land || land.state !== 'JOB_STATE_DONE',
      `land step of a rolled-back load: ${JSON.stringify(land)} (rows_written ${job.rows_written})`,
    );
  } finally {
    removeOverride(t, 'raw');
  }
});
