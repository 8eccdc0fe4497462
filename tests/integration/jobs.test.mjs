// Loads and jobs with real workers against a real marketplace source
// database: the load request and its idempotency, a job's life
// (QUEUED -> RUNNING -> DONE) and steps, the job list, cancellation, one load
// per source at a time, permanent and transient failures with retries, a
// server killed with -9 in the middle of a load, and two servers sharing one
// lake. (jobs-api.test.mjs covers the API alone, with no workers.)
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { Lake, sleep } from './lib/harness.mjs';
import {
  FINAL_STATES,
  SourceDb,
  getJob,
  marketplaceEnv,
  poll,
  registerDemoSources,
  runLoad,
  runPipeline,
  startLoad,
  stepNames,
  waitJob,
} from './lib/marketplace.mjs';

const MERGE = { 'content-type': 'application/merge-patch+json' };
const BIG_ROWS = 1_000_000;

let lake;
let src;
let srv;
let demo; // { object: source } of the demo's definitions
let deadPort;
const local = {}; // this file's own sources: big_slow, medio, medio_slow, nao_existe, dead

// A port where nothing listens (taken from the kernel, then released).
async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function serverEnv(extra = {}) {
  return marketplaceEnv(src, {
    SHOPPERLAKE_JOB_MAX_ATTEMPTS: 2,
    LAKE_SECRET_DEAD_URL: `postgresql:///nada?host=127.0.0.1&port=${deadPort}&user=lake&connect_timeout=2`,
    ...extra,
  });
}

function def(object, over = {}) {
  return {
    system: 'loja',
    source_type: 'postgresql',
    database: 'vitrine',
    object,
    load_type: 'full',
    connection_secret: 'env:LAKE_SECRET_MARKETPLACE_URL',
    columns: [
      { name: 'id', type: 'bigint', key: true },
      { name: 'grupo', type: 'integer' },
      { name: 'payload', type: 'text' },
    ],
    ...over,
  };
}

async function createSource(srvx, d) {
  return (await srvx.call('POST', '/v1/sources', 201, { body: d })).body;
}

// Rows of a job in a layer table (0 when the table does not exist at all).
async function layerRows(layer, table, jobId) {
  const exists = await lake.sql(`SELECT to_regclass('${layer}."${table}"') IS NOT NULL`);
  if (exists !== 't') return 0;
  return Number(await lake.sql(`SELECT count(*) FROM ${layer}."${table}" WHERE _job_id = ${jobId}`));
}

// Seconds every 50 000th row of big_slow and every 5 000th of medio_slow sleep.
async function setThrottle(seconds) {
  await src.sql(`UPDATE throttle SET delay = ${seconds}`);
}

before(async () => {
  deadPort = await freePort();
  lake = await Lake.create('jobs');
  src = await SourceDb.create('jobs', { sales: 2000 });
  // A big table, a view of it that can be slowed down (so that a full load is
  // still extracting when a test acts on it), and a medium table.
  await src.sql(`
    CREATE TABLE throttle (delay float8 NOT NULL);
    INSERT INTO throttle VALUES (0);
    CREATE TABLE big (id bigint PRIMARY KEY, grupo int NOT NULL, payload text NOT NULL);
    INSERT INTO big SELECT g, g % 97, md5(g::text) FROM generate_series(1, ${BIG_ROWS}) g;
    CREATE VIEW big_slow AS
      SELECT b.id, b.grupo, b.payload FROM big b CROSS JOIN throttle t
      WHERE b.id % 50000 <> 0 OR pg_sleep(t.delay) IS NOT NULL;
    CREATE TABLE medio AS SELECT * FROM big WHERE id <= 100000;
    ALTER TABLE medio ADD PRIMARY KEY (id);
    CREATE VIEW medio_slow AS
      SELECT m.id, m.grupo, m.payload FROM medio m CROSS JOIN throttle t
      WHERE m.id % 5000 <> 0 OR pg_sleep(t.delay) IS NOT NULL;`);
  await src.sql('VACUUM ANALYZE big, medio');
  srv = await lake.startServer({ env: serverEnv() });
  demo = await registerDemoSources(srv);
  local.big_slow = await createSource(srv, def('big_slow'));
  local.medio = await createSource(srv, def('medio'));
  local.medio_slow = await createSource(srv, def('medio_slow'));
  local.nao_existe = await createSource(srv, def('nao_existe'));
  local.dead = await createSource(srv, def('medio', { system: 'morto', connection_secret: 'env:LAKE_SECRET_DEAD_URL' }));
});

after(async () => {
  try {
    await lake?.close();
  } finally {
    await src?.drop();
  }
});

describe('POST /v1/sources/{id}/loads', () => {
  test('202 with Location; the job is queued and named [system]_[database]_[table]_[full|incr]_[hash]', async () => {
    const res = await srv.call('POST', '/v1/sources/{id}/loads', 202, {
      params: { id: demo.lojas.id },
      body: { load_type: 'full' },
    });
    const job = res.body;
    assert.equal(res.headers.get('location'), `/v1/jobs/${job.id}`);
    assert.equal(res.headers.get('idempotent-replayed'), null, 'a first request is no replay');
    assert.equal(job.state, 'JOB_STATE_QUEUED');
    assert.equal(job.attempt, 0);
    assert.equal(job.started_at, null);
    assert.equal(job.finished_at, null);
    assert.equal(job.worker, null);
    assert.equal(job.source_id, demo.lojas.id);
    assert.equal(job.source, 'marketplace.marketplace.lojas');
    assert.equal(job.load_type, 'full');
    assert.equal(job.max_attempts, 2, 'SHOPPERLAKE_JOB_MAX_ATTEMPTS of the server');
    assert.match(job.name, /^marketplace_marketplace_lojas_full_[0-9a-f]{8}$/);

    const incr = await startLoad(srv, demo.clientes.id, 'incremental');
    assert.match(incr.name, /^marketplace_marketplace_clientes_incr_[0-9a-f]{8}$/);
    assert.notEqual(incr.name.slice(-8), job.name.slice(-8), 'each job its own hash');

    // The Location names the job.
    const got = await srv.call('GET', '/v1/jobs/{id}', 200, { params: { id: job.id } });
    assert.equal(got.body.name, job.name);
    assert.equal((await waitJob(srv, job.id)).state, 'JOB_STATE_DONE');
    assert.equal((await waitJob(srv, incr.id)).state, 'JOB_STATE_DONE');
  });

  test('Idempotency-Key: a replay returns the same job; the key on another load of the source is 409, on another source a new job', async () => {
    const key = `it-load-${Date.now()}`;
    const first = await srv.call('POST', '/v1/sources/{id}/loads', 202, {
      params: { id: demo.marcas.id },
      body: { load_type: 'full' },
      headers: { 'Idempotency-Key': key },
    });
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const replay = await srv.call('POST', '/v1/sources/{id}/loads', 202, {
      params: { id: demo.marcas.id },
      body: { load_type: 'full' },
      headers: { 'Idempotency-Key': key },
    });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.body.id, first.body.id);
    assert.equal(replay.body.name, first.body.name);
    assert.equal(replay.headers.get('location'), `/v1/jobs/${first.body.id}`);
    assert.equal(
      Number(await lake.sql(`SELECT count(*) FROM control.jobs WHERE idempotency_key = '${key}'`)),
      1,
      'one job for the key',
    );

    // Same key, other load type / other source: refused, nothing queued.
    const before = await lake.sql('SELECT count(*) FROM control.jobs');
    const otherType = await srv.call('POST', '/v1/sources/{id}/loads', 409, {
      params: { id: demo.marcas.id },
      body: { load_type: 'incremental' },
      headers: { 'Idempotency-Key': key },
    });
    assert.equal(otherType.body.field, 'Idempotency-Key');
    assert.equal(await lake.sql('SELECT count(*) FROM control.jobs'), before, 'no job queued by a refused request');
    // the key names a load of one source: another source's load may use it
    const otherSource = await srv.call('POST', '/v1/sources/{id}/loads', 202, {
      params: { id: demo.lojas.id },
      body: { load_type: 'full' },
      headers: { 'Idempotency-Key': key },
    });
    assert.notEqual(otherSource.body.id, first.body.id);
    await waitJob(srv, otherSource.body.id);

    // A replay after the job ended still returns it, as it is now.
    const done = await waitJob(srv, first.body.id);
    assert.equal(done.state, 'JOB_STATE_DONE', done.error);
    const late = await srv.call('POST', '/v1/sources/{id}/loads', 202, {
      params: { id: demo.marcas.id },
      body: { load_type: 'full' },
      headers: { 'Idempotency-Key': key },
    });
    assert.equal(late.headers.get('idempotent-replayed'), 'true');
    assert.equal(late.body.id, first.body.id);
    assert.equal(late.body.state, 'JOB_STATE_DONE');

    const long = await srv.call('POST', '/v1/sources/{id}/loads', 400, {
      params: { id: demo.marcas.id },
      body: { load_type: 'full' },
      headers: { 'Idempotency-Key': 'k'.repeat(256) },
    });
    assert.equal(long.body.field, 'Idempotency-Key');
  });

  test('unknown source 404, inactive source 409, bad load_type 422', async () => {
    const before = await lake.sql('SELECT count(*) FROM control.jobs');
    const r404 = await srv.call('POST', '/v1/sources/{id}/loads', 404, { params: { id: 987654 }, body: { load_type: 'full' } });
    assert.match(r404.body.detail, /source/);

    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: demo.categorias.id }, body: { active: false }, headers: MERGE });
    const r409 = await srv.call('POST', '/v1/sources/{id}/loads', 409, {
      params: { id: demo.categorias.id },
      body: { load_type: 'full' },
    });
    assert.equal(r409.body.field, 'active');
    assert.match(r409.body.detail, /inactive/);
    // ... and with an Idempotency-Key the answer is the same.
    await srv.call('POST', '/v1/sources/{id}/loads', 409, {
      params: { id: demo.categorias.id },
      body: { load_type: 'full' },
      headers: { 'Idempotency-Key': `inactive-${Date.now()}` },
    });
    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: demo.categorias.id }, body: { active: true }, headers: MERGE });

    for (const [body, field] of [
      [{ load_type: 'delta' }, 'load_type'],
      [{}, 'load_type'],
      [{ load_type: 7 }, 'load_type'],
      [{ load_type: 'full', priority: 1 }, 'priority'],
    ]) {
      const r = await srv.call('POST', '/v1/sources/{id}/loads', 422, { params: { id: demo.lojas.id }, body });
      assert.equal(r.body.field, field, JSON.stringify(body));
    }
    assert.equal(await lake.sql('SELECT count(*) FROM control.jobs'), before, 'no job queued by a refused request');
  });
});

describe('a job', () => {
  test('goes QUEUED -> RUNNING -> DONE, with heartbeats, progress and its worker', async (t) => {
    await setThrottle(0.15); // 20 pauses: about 3 s of extraction
    t.after(() => setThrottle(0));
    const queued = await startLoad(srv, local.medio_slow.id, 'full');
    assert.equal(queued.state, 'JOB_STATE_QUEUED');
    const seen = [];
    const track = (j) => {
      if (seen.at(-1) !== j.state) seen.push(j.state);
    };
    const running = await waitJob(srv, queued.id, {
      pred: (j) => {
        track(j);
        return j.state === 'JOB_STATE_RUNNING' && j.rows_read > 0;
      },
      timeoutMs: 10_000,
      what: 'the job running with rows read',
    });
    assert.equal(running.attempt, 1);
    assert.match(running.worker, /^[^:]+:\d+:\d+$/, 'worker is host:pid:slot');
    assert.equal(Number(running.worker.split(':')[1]), srv.proc.pid, 'a worker of our server');
    assert.ok(running.started_at && running.heartbeat_at);
    assert.equal(running.finished_at, null);
    assert.ok(running.duration_seconds > 0);
    assert.equal(running.progress.rows, running.rows_read);
    assert.ok(running.rows_read < 100000, 'still extracting');
    await setThrottle(0);

    const done = await waitJob(srv, queued.id, {
      pred: (j) => {
        track(j);
        return FINAL_STATES.includes(j.state);
      },
      timeoutMs: 60_000,
    });
    // QUEUED (if a poll saw it at all) only first, then RUNNING, then DONE.
    assert.deepEqual(
      seen.filter((s, i) => !(i === 0 && s === 'JOB_STATE_QUEUED')),
      ['JOB_STATE_RUNNING', 'JOB_STATE_DONE'],
    );
    assert.equal(done.state, 'JOB_STATE_DONE', done.error);
    assert.equal(done.rows_read, 100000);
    assert.equal(done.rows_written, 100000);
    assert.equal(done.progress.fraction, 1);
    assert.ok(new Date(done.finished_at) >= new Date(done.started_at));
    assert.ok(new Date(done.heartbeat_at) > new Date(running.heartbeat_at), 'heartbeats went on');
    assert.equal(done.error, null);
    assert.equal(done.error_kind, null);
  });

  let vendasJob; // the DONE full load of vendas, for the timing test
  test('keeps its steps (extract, land, raw, trusted, checks, refined) with their rows', async () => {
    const done = await runLoad(srv, demo.vendas.id, 'full');
    vendasJob = done;
    const n = Number(await src.sql('SELECT count(*) FROM vendas'));
    assert.equal(n, 2000);
    assert.deepEqual(stepNames(done), ['extract', 'land', 'raw', 'trusted', 'checks', 'refined']);
    const step = Object.fromEntries(done.steps.map((s) => [s.name, s]));
    for (const s of done.steps) assert.equal(s.state, 'JOB_STATE_DONE', `step ${s.name}`);
    for (const name of ['extract', 'land', 'raw', 'trusted']) assert.equal(step[name].rows, n, `rows of step ${name}`);
    assert.equal(step.land.snapshot, true);
    assert.equal(step.trusted.result.merged, n);
    assert.equal(done.rows_read, n);
    assert.equal(done.rows_written, n);
    assert.equal(done.rows_quarantined, 0);
    // RAW took LAND's partition: the rows were written once
    assert.equal(step.raw.attached, true);
    assert.equal(await layerRows('land', 'marketplace_vendas', done.id), 0);
    assert.equal(await layerRows('raw', 'marketplace_vendas', done.id), n);
    assert.equal(Number(await lake.sql('SELECT count(*) FROM trusted.marketplace_vendas')), n);
    // vendas' reports wait for the dimensions, which were not loaded in this lake yet.
    assert.ok(Array.isArray(step.refined.rebuilt) && Array.isArray(step.refined.waiting));
    assert.ok(step.refined.waiting.some((w) => w.report === 'vendas_diarias'), JSON.stringify(step.refined));
    // A report that waits makes none of its indexes: the day-and-product one of
    // vendas_diarias and sentimento_produtos (both waiting) is not there; the
    // month-and-product one of vendas_produto_mes (built: it reads vendas alone) is.
    assert.ok(step.refined.rebuilt.includes('vendas_produto_mes'), JSON.stringify(step.refined));
    assert.ok(step.refined.waiting.some((w) => w.report === 'sentimento_produtos'), JSON.stringify(step.refined));
    const indexes = (
      await lake.sql(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'trusted' AND tablename = 'marketplace_vendas' AND indexname LIKE '%\\_r\\_%'")
    ).split('\n');
    assert.ok(indexes.some((d) => /date_trunc/.test(d)), indexes.join('\n'));
    assert.ok(!indexes.some((d) => /AT TIME ZONE/.test(d) && !/date_trunc/.test(d)), indexes.join('\n'));
  });

  test('every step has started_at and finished_at, in order', async () => {
    const done = vendasJob;
    assert.ok(done, 'the previous test loaded vendas');
    // TRUSTED and checks record whole seconds: allow that much.
    const SLACK = 1000;
    let prevStart = new Date(done.started_at) - SLACK;
    for (const s of done.steps) {
      assert.ok(s.started_at && s.finished_at, `step ${s.name} has timings: ${JSON.stringify(s)}`);
      const [a, b] = [new Date(s.started_at), new Date(s.finished_at)];
      assert.ok(b >= a, `step ${s.name}: finished after it started`);
      assert.ok(a >= prevStart, `step ${s.name} starts after the step before`);
      assert.ok(b <= new Date(done.finished_at), `step ${s.name} ends before the job`);
      prevStart = a - SLACK;
    }
  });

  test('loaded_at is when the load (LAND + RAW + offset) committed', async () => {
    const done = vendasJob;
    assert.ok(done, 'a previous test loaded vendas');
    const raw = done.steps.find((s) => s.name === 'raw');
    assert.ok(done.loaded_at, 'loaded_at is set');
    assert.ok(
      new Date(done.loaded_at) >= new Date(raw.finished_at),
      `loaded_at (${done.loaded_at}) is when LAND+RAW+offset committed, so not before the raw step ended (${raw.finished_at})`,
    );
  });
});

describe('GET /v1/jobs', () => {
  test('filters by state, source_id and pipeline_run_id, and pages with next_cursor', async () => {
    const run = await runPipeline(srv, 'marketplace_postgresql_full');
    assert.equal(run.jobs.length, 3);

    const byRun = await srv.call('GET', '/v1/jobs', 200, { query: { pipeline_run_id: run.id }, token: 'reader' });
    assert.deepEqual(
      byRun.body.items.map((j) => j.id),
      run.jobs.map((j) => j.id).sort((a, b) => b - a),
      'the run\'s jobs, newest first',
    );
    assert.ok(byRun.body.items.every((j) => j.pipeline_run_id === run.id));
    assert.equal(byRun.body.next_cursor, null);

    const ids = async (where) =>
      (await lake.sql(`SELECT id FROM control.jobs WHERE ${where} ORDER BY id DESC`)).split('\n').filter(Boolean).map(Number);

    const bySource = await srv.call('GET', '/v1/jobs', 200, { query: { source_id: demo.marcas.id, limit: 500 } });
    const want = await ids(`source_id = ${demo.marcas.id}`);
    assert.ok(want.length >= 2);
    assert.deepEqual(bySource.body.items.map((j) => j.id), want);

    for (const state of ['JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_QUEUED']) {
      const res = await srv.call('GET', '/v1/jobs', 200, { query: { state, limit: 500 } });
      assert.deepEqual(res.body.items.map((j) => j.id), await ids(`state = '${state}'`), `state=${state}`);
      assert.ok(res.body.items.every((j) => j.state === state));
    }
    const combined = await srv.call('GET', '/v1/jobs', 200, {
      query: { state: 'JOB_STATE_DONE', source_id: demo.lojas.id, pipeline_run_id: run.id },
    });
    assert.deepEqual(
      combined.body.items.map((j) => j.id),
      run.jobs.filter((j) => j.source_id === demo.lojas.id).map((j) => j.id),
    );

    // Pages of 2 walk every job once, newest first.
    const all = await ids('true');
    assert.ok(all.length > 4);
    const walked = [];
    let cursor;
    for (let page = 0; page < 100; page++) {
      const res = await srv.call('GET', '/v1/jobs', 200, { query: { limit: 2, ...(cursor ? { cursor } : {}) } });
      assert.ok(res.body.items.length <= 2);
      walked.push(...res.body.items.map((j) => j.id));
      cursor = res.body.next_cursor;
      if (cursor === null) break;
      assert.equal(cursor, String(res.body.items.at(-1).id));
    }
    assert.deepEqual(walked, all);

    const empty = await srv.call('GET', '/v1/jobs', 200, { query: { source_id: 987654 } });
    assert.deepEqual(empty.body.items, []);
    assert.equal(empty.body.next_cursor, null);

    for (const query of [{ state: 'DONE' }, { limit: 0 }, { limit: 501 }, { source_id: 'x' }, { cursor: '-1' }, { sort: 'id' }]) {
      await srv.call('GET', '/v1/jobs', 400, { query });
    }
    await srv.call('GET', '/v1/jobs/{id}', 404, { params: { id: 987654 } });
  });
});

describe('cancel', () => {
  test('a running full load is CANCELLED within 2 s and leaves nothing in LAND or RAW; a queued one at once', async (t) => {
    await setThrottle(0.4); // about 8 s of extraction if nobody cancels
    t.after(() => setThrottle(0));
    const job = await startLoad(srv, local.big_slow.id, 'full');
    const running = await waitJob(srv, job.id, {
      pred: (j) => j.state === 'JOB_STATE_RUNNING' && j.rows_read > 0,
      timeoutMs: 10_000,
      what: 'the big load extracting',
    });
    assert.equal(running.loaded_at, null, 'still extracting');

    // A second load of the same source waits; cancelling it ends it at once.
    const second = await startLoad(srv, local.big_slow.id, 'full');
    await sleep(300);
    assert.equal((await getJob(srv, second.id)).state, 'JOB_STATE_QUEUED', 'one load per source at a time');
    const c2 = await srv.call('POST', '/v1/jobs/{id}/cancel', 202, { params: { id: second.id } });
    assert.equal(c2.body.state, 'JOB_STATE_CANCELLED');
    assert.ok(c2.body.finished_at);
    assert.equal(c2.body.error_kind, 'cancelled');
    assert.equal(c2.body.attempt, 0, 'it never ran');

    const t0 = Date.now();
    const c1 = await srv.call('POST', '/v1/jobs/{id}/cancel', 202, { params: { id: job.id } });
    assert.ok(['JOB_STATE_CANCELLING', 'JOB_STATE_CANCELLED'].includes(c1.body.state), c1.body.state);
    const cancelled = await waitJob(srv, job.id, { timeoutMs: 5_000 });
    const took = Date.now() - t0;
    assert.equal(cancelled.state, 'JOB_STATE_CANCELLED', `${cancelled.state} ${cancelled.error}`);
    assert.ok(took <= 2_500, `cancelled in ${took} ms`);
    assert.equal(cancelled.error_kind, 'cancelled');
    assert.equal(cancelled.loaded_at, null);
    assert.ok(cancelled.finished_at);
    assert.ok(cancelled.rows_read < BIG_ROWS, 'stopped mid-way');
    assert.equal(cancelled.steps.at(-1).state, 'JOB_STATE_CANCELLED');
    assert.equal(await layerRows('land', 'loja_big_slow', job.id), 0, 'nothing of the job in LAND');
    assert.equal(await layerRows('raw', 'loja_big_slow', job.id), 0, 'nothing of the job in RAW');
    await setThrottle(0);

    // Cancelling jobs that ended: 409, and they stay as they were.
    for (const id of [job.id, second.id]) {
      const r = await srv.call('POST', '/v1/jobs/{id}/cancel', 409, { params: { id } });
      assert.match(r.body.detail, /ended/);
      assert.equal((await getJob(srv, id)).state, 'JOB_STATE_CANCELLED');
    }
    const doneJob = (await srv.call('GET', '/v1/jobs', 200, { query: { state: 'JOB_STATE_DONE', limit: 1 } })).body.items[0];
    await srv.call('POST', '/v1/jobs/{id}/cancel', 409, { params: { id: doneJob.id } });
    assert.equal((await getJob(srv, doneJob.id)).state, 'JOB_STATE_DONE');
    await srv.call('POST', '/v1/jobs/{id}/cancel', 404, { params: { id: 987654 } });
  });
});

describe('one load per source', () => {
  test('two loads of the same source never run at once: the second waits for the first', async () => {
    const a = await startLoad(srv, local.medio.id, 'full');
    const b = await startLoad(srv, local.medio.id, 'full');
    // Meanwhile, b is never RUNNING while a is (read in one statement: two
    // API calls in a row could see a still running and b already started).
    await poll(
      async () => {
        const running = Number(await lake.sql(
          `SELECT count(*) FROM control.jobs WHERE id IN (${a.id}, ${b.id}) AND state = 'JOB_STATE_RUNNING'`));
        assert.ok(running < 2, 'both loads of one source running at once');
        const [ja, jb] = [await getJob(srv, a.id), await getJob(srv, b.id)];
        return FINAL_STATES.includes(ja.state) && FINAL_STATES.includes(jb.state);
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'both loads to end' },
    );
    const [ja, jb] = [await getJob(srv, a.id), await getJob(srv, b.id)];
    assert.equal(ja.state, 'JOB_STATE_DONE', ja.error);
    assert.equal(jb.state, 'JOB_STATE_DONE', jb.error);
    assert.ok(
      new Date(jb.started_at) >= new Date(ja.finished_at),
      `b started ${jb.started_at}, before a finished ${ja.finished_at}`,
    );
    // Each load a full copy in RAW, under its own job id.
    assert.equal(await layerRows('raw', 'loja_medio', a.id), 100000);
    assert.equal(await layerRows('raw', 'loja_medio', b.id), 100000);
  });
});

describe('failures', () => {
  test('a permanent failure (the source table is missing) fails at once, attempt 1, with a clear error', async () => {
    const job = await startLoad(srv, local.nao_existe.id, 'full');
    const t0 = Date.now();
    const failed = await waitJob(srv, job.id, { timeoutMs: 10_000 });
    assert.equal(failed.state, 'JOB_STATE_FAILED');
    assert.ok(Date.now() - t0 < 5_000, 'no retries');
    assert.equal(failed.attempt, 1);
    assert.equal(failed.error_kind, 'permanent');
    assert.match(failed.error, /nao_existe/);
    assert.match(failed.error, /does not exist/);
    assert.ok(failed.finished_at);
    assert.equal(failed.steps.at(-1).state, 'JOB_STATE_FAILED');
    assert.equal(failed.loaded_at, null);
  });

  test('a transient failure (nothing listens at the source) is retried with backoff, then FAILED with the last error', async () => {
    const job = await startLoad(srv, local.dead.id, 'full');
    assert.equal(job.max_attempts, 2);
    const seen = new Set();
    const failed = await waitJob(srv, job.id, {
      timeoutMs: 20_000,
      pred: (j) => {
        seen.add(`${j.state}/${j.attempt}/${j.error_kind}`);
        return FINAL_STATES.includes(j.state);
      },
    });
    assert.ok(seen.has('JOB_STATE_QUEUED/1/transient'), `waited for a retry after attempt 1: ${[...seen]}`);
    assert.equal(failed.state, 'JOB_STATE_FAILED');
    assert.equal(failed.attempt, 2);
    assert.equal(failed.error_kind, 'transient');
    assert.match(failed.error, /cannot connect to the source/);
    assert.match(failed.error, /refused|could not connect/i);
    const elapsed = new Date(failed.finished_at) - new Date(failed.started_at);
    assert.ok(elapsed >= 2_000, `the retry waited for its backoff (${elapsed} ms)`);
    assert.ok(elapsed < 15_000, `but not much more than 2^1 s + jitter (${elapsed} ms)`);
  });
});

describe('the server that ran all of the above', () => {
  test('stops cleanly on SIGTERM, with no sanitizer report', async () => {
    await srv.stop();
  });
});

describe('crashes and several servers', () => {
  test('kill -9 in the middle of a full load: after a restart the job is taken back, and LAND has one copy of every row', async (t) => {
    // The main server is stopped: only the server we kill may take the job.
    const env = serverEnv({ SHOPPERLAKE_WORKERS: 1 });
    const victim = await lake.startServer({ env });
    await setThrottle(0.4); // medio_slow: about 8 s of extraction
    t.after(() => setThrottle(0));
    const job = await startLoad(victim, local.medio_slow.id, 'full');
    const running = await waitJob(victim, job.id, {
      pred: (j) => j.state === 'JOB_STATE_RUNNING' && j.rows_read > 0,
      timeoutMs: 10_000,
      what: 'the load extracting',
    });
    assert.equal(running.loaded_at, null);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    lake.servers.delete(victim);
    victim.assertNoSanitizerReport();
    await setThrottle(0);

    const restarted = await lake.startServer({ env });
    await restarted.waitForLog((l) => l.msg === 'took back a job whose worker stopped' && l.job_id === job.id, 10_000);
    const done = await waitJob(restarted, job.id, { timeoutMs: 60_000 });
    assert.equal(done.state, 'JOB_STATE_DONE', done.error);
    assert.equal(done.attempt, 2, 'the second attempt finished it');
    assert.equal(Number(done.worker.split(':')[1]), restarted.proc.pid);
    const n = 100000;
    assert.equal(done.rows_written, n);

    // Both attempts wrote under the same job id: one copy means the first one's rows are gone.
    assert.equal(await layerRows('land', 'loja_medio_slow', job.id), 0, 'LAND: its partition went to RAW');
    const raw = await lake.sql(`SELECT count(*), count(DISTINCT id) FROM raw.loja_medio_slow WHERE _job_id = ${job.id}`);
    assert.equal(raw, `${n}|${n}`, 'RAW: every source row exactly once');
    const trusted = await lake.sql('SELECT count(*), sum(id) FROM trusted.loja_medio_slow');
    assert.equal(trusted, `${n}|${(n * (n + 1)) / 2}`);
    await restarted.stop();
  });

  test('two servers on one lake share a pipeline\'s jobs and run none twice', async (t) => {
    // Six sources of 20 000 rows, each pausing twice: jobs long enough to be
    // claimed by every free worker, cheap in CPU.
    const tables = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    const ROWS = 20000;
    await setThrottle(0.3);
    t.after(() => setThrottle(0));
    await src.sql(
      tables
        .map(
          (v) => `CREATE VIEW ${v} AS SELECT b.id, b.grupo, b.payload FROM big b CROSS JOIN throttle x
                  WHERE b.id <= ${ROWS} AND (b.id % 10000 <> 0 OR pg_sleep(x.delay) IS NOT NULL);`,
        )
        .join('\n'),
    );
    const env = serverEnv({ SHOPPERLAKE_WORKERS: 2 });
    const [a, b] = [await lake.startServer({ env }), await lake.startServer({ env })];
    for (const t of tables) await createSource(a, def(t, { system: 'duplo', max_parallel_tasks: 4 }));
    const run = await runPipeline(b, 'duplo_postgresql_full', { timeoutMs: 90_000 });
    assert.equal(run.jobs.length, tables.length);
    const pids = new Set(run.jobs.map((j) => Number(j.worker.split(':')[1])));
    assert.deepEqual([...pids].sort(), [a.proc.pid, b.proc.pid].sort(), 'both servers ran jobs');
    for (const j of run.jobs) {
      assert.equal(j.attempt, 1, `${j.name} ran once`);
      const starts = [a, b].flatMap((s) => s.logs.filter((l) => l.msg === 'job started' && l.job_id === j.id));
      assert.equal(starts.length, 1, `${j.name} started once across both servers`);
      const table = `duplo_${j.source.split('.').at(-1)}`;
      assert.equal(Number(await lake.sql(`SELECT count(*) FROM raw."${table}"`)), ROWS, `one copy in raw.${table}`);
      assert.equal(await layerRows('raw', table, j.id), ROWS);
    }
    await a.stop();
    await b.stop();
  });
});
