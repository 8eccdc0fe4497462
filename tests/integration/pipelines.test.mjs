// Pipelines (the seed's DAGs) with real workers: the list of
// system/source_type/load_type groups of active sources, runs that queue one
// job per source and never run more than max_parallel of them at once, the
// run's state following its jobs, and the 404s.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Lake, sleep } from './lib/harness.mjs';
import {
  FINAL_STATES,
  SourceDb,
  getRun,
  marketplaceEnv,
  registerDemoSources,
  runPipeline,
  waitRun,
} from './lib/marketplace.mjs';

const MERGE = { 'content-type': 'application/merge-patch+json' };
const PAR_TABLES = ['t1', 't2', 't3', 't4', 't5', 't6'];
const PAR_ROWS = 50000;

let lake;
let src;
let srv;
const sources = {}; // name -> source

function def(system, object, over = {}) {
  return {
    system,
    source_type: 'postgresql',
    database: 'fabrica',
    object,
    load_type: 'full',
    connection_secret: 'env:LAKE_SECRET_MARKETPLACE_URL',
    columns: [
      { name: 'id', type: 'bigint', key: true },
      { name: 'payload', type: 'text' },
    ],
    ...over,
  };
}

async function create(d) {
  const s = (await srv.call('POST', '/v1/sources', 201, { body: d })).body;
  sources[`${d.system}.${d.object}`] = s;
  return s;
}

async function setThrottle(seconds) {
  await src.sql(`UPDATE throttle SET delay = ${seconds}`);
}

// The most jobs whose [started_at, finished_at] intervals overlap at one instant.
function maxOverlap(jobs) {
  const events = jobs.flatMap((j) => [
    [new Date(j.started_at).getTime(), 1],
    [new Date(j.finished_at).getTime(), -1],
  ]);
  // At equal instants, ends before starts: a job that starts as another ends is no overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (now += d));
  return most;
}

before(async () => {
  lake = await Lake.create('pipelines');
  src = await SourceDb.create('pipelines', { sales: 2000 });
  // Six tables read through views that pause every 10 000 rows, so each
  // job lasts long enough to overlap with others.
  await src.sql(`
    CREATE TABLE throttle (delay float8 NOT NULL);
    INSERT INTO throttle VALUES (0.25);
    CREATE TABLE base (id bigint PRIMARY KEY, payload text NOT NULL);
    INSERT INTO base SELECT g, md5(g::text) FROM generate_series(1, ${PAR_ROWS}) g;
    ${PAR_TABLES.map(
      (t) => `CREATE VIEW ${t} AS SELECT b.id, b.payload FROM base b CROSS JOIN throttle x
              WHERE b.id % 10000 <> 0 OR pg_sleep(x.delay) IS NOT NULL;`,
    ).join('\n')}`);
  srv = await lake.startServer({ env: marketplaceEnv(src, { SHOPPERLAKE_WORKERS: 4 }) });
  Object.assign(sources, await registerDemoSources(srv));
  for (const t of PAR_TABLES) await create(def('fabrica', t, { max_parallel_tasks: t === 't3' ? 2 : 1 }));
  // A source that is inactive in an otherwise active pipeline...
  await create(def('fabrica', 'desligada', { active: false, max_parallel_tasks: 9 }));
  // ... and a pipeline whose only source is inactive.
  await create(def('parado', 't1', { active: false }));
  // A pipeline with one good and one broken source.
  await create(def('misto', 't1'));
  await create(def('misto', 'nao_existe'));
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    await src?.drop();
  }
});

describe('GET /v1/pipelines', () => {
  test('lists the system/source_type/load_type groups of active sources, with their size and max_parallel', async () => {
    const res = await srv.call('GET', '/v1/pipelines', 200, { token: 'reader' });
    const got = res.body.items.map((p) => ({
      name: p.name,
      system: p.system,
      source_type: p.source_type,
      load_type: p.load_type,
      sources: p.sources,
      max_parallel: p.max_parallel,
      last_run: p.last_run,
    }));
    assert.deepEqual(got, [
      { name: 'fabrica_postgresql_full', system: 'fabrica', source_type: 'postgresql', load_type: 'full', sources: 6, max_parallel: 2, last_run: null },
      { name: 'marketplace_postgresql_full', system: 'marketplace', source_type: 'postgresql', load_type: 'full', sources: 3, max_parallel: 1, last_run: null },
      { name: 'marketplace_postgresql_incremental', system: 'marketplace', source_type: 'postgresql', load_type: 'incremental', sources: 4, max_parallel: 2, last_run: null },
      { name: 'misto_postgresql_full', system: 'misto', source_type: 'postgresql', load_type: 'full', sources: 2, max_parallel: 1, last_run: null },
    ]);
    await srv.call('GET', '/v1/pipelines', 400, { query: { system: 'fabrica' } });

    // Activating a source brings its pipeline in; deactivating it again takes it out.
    const parado = sources['parado.t1'];
    const names = async () => (await srv.call('GET', '/v1/pipelines', 200)).body.items.map((p) => `${p.name}:${p.sources}`);
    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: parado.id }, body: { active: true }, headers: MERGE });
    assert.ok((await names()).includes('parado_postgresql_full:1'));
    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: parado.id }, body: { active: false }, headers: MERGE });
    assert.ok(!(await names()).some((n) => n.startsWith('parado_')));
  });
});

describe('POST /v1/pipelines/{name}/runs', () => {
  test('an unknown pipeline name, or a pipeline with no active source, is 404 and starts nothing', async () => {
    const runsBefore = await lake.sql('SELECT count(*) FROM control.pipeline_runs');
    const jobsBefore = await lake.sql('SELECT count(*) FROM control.jobs');
    for (const name of ['garbage', 'marketplace_oracle_full', 'marketplace_postgresql_daily', '_postgresql_full']) {
      const r = await srv.call('POST', '/v1/pipelines/{name}/runs', 404, { params: { name } });
      assert.equal(r.body.field, 'name');
    }
    for (const name of ['parado_postgresql_full', 'ninguem_postgresql_full', 'fabrica_postgresql_incremental', 'fabrica_sqlserver_full']) {
      const r = await srv.call('POST', '/v1/pipelines/{name}/runs', 404, { params: { name } });
      assert.match(r.body.detail, /no active source/);
    }
    assert.equal(await lake.sql('SELECT count(*) FROM control.pipeline_runs'), runsBefore);
    assert.equal(await lake.sql('SELECT count(*) FROM control.jobs'), jobsBefore);
    await srv.call('GET', '/v1/pipelines/{name}/runs/{run_id}', 404, { params: { name: 'fabrica_postgresql_full', run_id: 987654 } });
    await srv.call('POST', '/v1/pipelines/{name}/runs', 403, { params: { name: 'fabrica_postgresql_full' }, token: 'reader' });
  });

  test('a run queues one job per active source and never runs more than max_parallel at once; its state follows its jobs', async () => {
    await setThrottle(0.25);
    const res = await srv.call('POST', '/v1/pipelines/{name}/runs', 202, { params: { name: 'fabrica_postgresql_full' } });
    const run = res.body;
    assert.equal(res.headers.get('location'), `/v1/pipelines/fabrica_postgresql_full/runs/${run.id}`);
    assert.equal(run.pipeline, 'fabrica_postgresql_full');
    assert.equal(run.max_parallel, 2);
    assert.equal(run.jobs.length, PAR_TABLES.length, 'one job per active source, not the inactive one');
    assert.deepEqual(
      run.jobs.map((j) => j.source_id).sort((a, b) => a - b),
      PAR_TABLES.map((t) => sources[`fabrica.${t}`].id).sort((a, b) => a - b),
    );
    assert.ok(run.jobs.every((j) => j.pipeline_run_id === run.id && j.load_type === 'full'));
    assert.equal(run.job_counts.total, PAR_TABLES.length);
    assert.equal(run.finished_at, null);

    // Sample the running jobs until the run ends.
    const runStates = [];
    let most = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const running = await srv.call('GET', '/v1/jobs', 200, {
        query: { pipeline_run_id: run.id, state: 'JOB_STATE_RUNNING' },
      });
      const n = running.body.items.length;
      assert.ok(n <= 2, `${n} jobs of the run running at once: ${running.body.items.map((j) => j.name)}`);
      most = Math.max(most, n);
      const now = await getRun(srv, 'fabrica_postgresql_full', run.id);
      if (runStates.at(-1) !== now.state) runStates.push(now.state);
      assert.equal(now.job_counts.running, now.jobs.filter((j) => j.state === 'JOB_STATE_RUNNING').length);
      if (now.jobs.every((j) => FINAL_STATES.includes(j.state))) break;
      assert.ok(Date.now() < deadline, `the run did not end: ${JSON.stringify(now.job_counts)}`);
      await sleep(100);
    }
    assert.equal(most, 2, 'the run used its two parallel slots');

    const done = await getRun(srv, 'fabrica_postgresql_full', run.id);
    assert.deepEqual(done.jobs.map((j) => j.state), PAR_TABLES.map(() => 'JOB_STATE_DONE'), JSON.stringify(done.jobs.map((j) => j.error)));
    assert.ok(maxOverlap(done.jobs) <= 2, `at most 2 jobs overlap in time (got ${maxOverlap(done.jobs)})`);
    assert.equal(done.state, 'JOB_STATE_DONE');
    assert.deepEqual(done.job_counts, { total: 6, queued: 0, running: 0, done: 6, failed: 0, cancelled: 0 });
    assert.equal(done.finished_at, done.jobs.map((j) => j.finished_at).sort().at(-1));
    assert.deepEqual(
      runStates.filter((s, i) => !(i === 0 && s === 'JOB_STATE_QUEUED')),
      ['JOB_STATE_RUNNING', 'JOB_STATE_DONE'],
      `run states seen: ${runStates}`,
    );
    for (const j of done.jobs) assert.equal(j.rows_written, PAR_ROWS, j.name);

    // The list of runs and the pipeline list show it.
    const runs = await srv.call('GET', '/v1/pipelines/{name}/runs', 200, { params: { name: 'fabrica_postgresql_full' } });
    assert.deepEqual(runs.body.items.map((r) => r.id), [run.id]);
    assert.equal(runs.body.items[0].state, 'JOB_STATE_DONE');
    assert.equal(runs.body.items[0].jobs, null, 'lists leave the jobs out');
    const list = await srv.call('GET', '/v1/pipelines', 200);
    const p = list.body.items.find((x) => x.name === 'fabrica_postgresql_full');
    assert.equal(p.last_run?.id, run.id);
    assert.equal(p.last_run.state, 'JOB_STATE_DONE');
    await srv.call('GET', '/v1/pipelines/{name}/runs/{run_id}', 404, { params: { name: 'misto_postgresql_full', run_id: run.id } });
  });

  test('a pipeline with max_parallel 1 runs its jobs one after the other', async () => {
    const run = await runPipeline(srv, 'marketplace_postgresql_full');
    assert.equal(run.max_parallel, 1);
    assert.equal(run.jobs.length, 3);
    assert.equal(maxOverlap(run.jobs), 1, JSON.stringify(run.jobs.map((j) => [j.started_at, j.finished_at])));
  });

  test('a run with a failed job ends FAILED, the other jobs done', async () => {
    await setThrottle(0);
    const res = await srv.call('POST', '/v1/pipelines/{name}/runs', 202, { params: { name: 'misto_postgresql_full' } });
    const run = await waitRun(srv, 'misto_postgresql_full', res.body.id, { timeoutMs: 30_000 });
    assert.equal(run.state, 'JOB_STATE_FAILED');
    assert.deepEqual(run.job_counts, { total: 2, queued: 0, running: 0, done: 1, failed: 1, cancelled: 0 });
    const failed = run.jobs.find((j) => j.state === 'JOB_STATE_FAILED');
    assert.equal(failed.source_id, sources['misto.nao_existe'].id);
    assert.match(failed.error, /does not exist/);
    assert.ok(run.finished_at);
  });

  test('a run whose jobs are all cancelled ends CANCELLED', async (t) => {
    await setThrottle(0.5);
    t.after(() => setThrottle(0));
    const res = await srv.call('POST', '/v1/pipelines/{name}/runs', 202, { params: { name: 'fabrica_postgresql_full' } });
    const ids = res.body.jobs.map((j) => j.id);
    // Cancel the last first, so that no queued job gets to start meanwhile.
    for (const id of [...ids].reverse()) await srv.call('POST', '/v1/jobs/{id}/cancel', 202, { params: { id } });
    const run = await waitRun(srv, 'fabrica_postgresql_full', res.body.id, { timeoutMs: 15_000 });
    await setThrottle(0);
    assert.equal(run.state, 'JOB_STATE_CANCELLED', JSON.stringify(run.job_counts));
    assert.equal(run.job_counts.cancelled, PAR_TABLES.length);
    // Jobs cancelled before they started never ran.
    assert.ok(run.jobs.filter((j) => j.attempt === 0).length >= PAR_TABLES.length - 2);
  });
});

describe('the server', () => {
  test('stops cleanly on SIGTERM after all of the above', async () => {
    await srv.stop();
  });
});
