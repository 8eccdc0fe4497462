// Loads, jobs and pipelines over HTTP, with no workers (SHOPPERLAKE_WORKERS=0):
// what the API writes and answers, every documented status. Running jobs
// are out of scope here; states a worker would set are written with SQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Lake } from './lib/harness.mjs';
import { assertRequestMatchesSpec } from './lib/spec.mjs';

const LOADS = '/v1/sources/{id}/loads';
const JOBS = '/v1/jobs';
const JOB = '/v1/jobs/{id}';
const CANCEL = '/v1/jobs/{id}/cancel';
const PIPELINES = '/v1/pipelines';
const RUNS = '/v1/pipelines/{name}/runs';
const RUN = '/v1/pipelines/{name}/runs/{run_id}';

let lake;
let srv;
let active;
let inactive;
let seq = 0;

function def(over = {}) {
  return {
    system: 'jobsys',
    source_type: 'postgresql',
    database: 'jobdb',
    object: `o${++seq}`,
    connection_secret: 'env:LAKE_SECRET_JOBS_URL',
    columns: [{ name: 'id', type: 'bigint', key: true }],
    load_type: 'full',
    ...over,
  };
}

async function source(over) {
  return (await srv.call('POST', '/v1/sources', 201, { body: def(over) })).body;
}

before(async () => {
  lake = await Lake.create('jobs');
  srv = await lake.startServer({ env: { SHOPPERLAKE_JOB_MAX_ATTEMPTS: '5' } });
  active = await source();
  inactive = await source({ active: false });
});

after(async () => {
  await lake?.close();
});

describe('POST /v1/sources/{id}/loads', () => {
  test('queues a job: 202, Location, the job as JSON', async () => {
    assertRequestMatchesSpec('POST', LOADS, 'application/json', { load_type: 'full' });
    const res = await srv.call('POST', LOADS, 202, { params: { id: active.id }, body: { load_type: 'full' } });
    const job = res.body;
    assert.equal(res.headers.get('location'), `/v1/jobs/${job.id}`);
    assert.equal(res.headers.get('idempotent-replayed'), null);
    assert.equal(job.state, 'JOB_STATE_QUEUED');
    assert.equal(job.source_id, active.id);
    assert.equal(job.source, `jobsys.jobdb.${active.object}`);
    assert.match(job.name, new RegExp(`^jobsys_jobdb_${active.object}_full_[0-9a-f]{8}$`));
    assert.equal(job.attempt, 0);
    assert.equal(job.max_attempts, 5, 'SHOPPERLAKE_JOB_MAX_ATTEMPTS');
    assert.equal(job.started_at, null);
    assert.equal(job.finished_at, null);
    assert.equal(job.duration_seconds, null);
    assert.deepEqual(job.steps, []);
    assert.deepEqual(job.progress, { rows: 0, estimate: null, fraction: null });
    const got = await srv.call('GET', JOB, 200, { params: { id: job.id } });
    assert.deepEqual(got.body, job);
  });

  test('an Idempotency-Key replays the same job; the key for another load is 409', async () => {
    const headers = { 'idempotency-key': `nightly-${Date.now()}` };
    const first = await srv.call('POST', LOADS, 202, { params: { id: active.id }, body: { load_type: 'full' }, headers });
    const again = await srv.call('POST', LOADS, 202, { params: { id: active.id }, body: { load_type: 'full' }, headers });
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const other = await srv.call('POST', LOADS, 409, { params: { id: active.id }, body: { load_type: 'incremental' }, headers });
    assert.equal(other.body.field, 'Idempotency-Key');
    // the key names a load of one source: another source may use it too
    const elsewhere = await source();
    const there = await srv.call('POST', LOADS, 202, { params: { id: elsewhere.id }, body: { load_type: 'full' }, headers });
    assert.notEqual(there.body.id, first.body.id);
    assert.equal(there.headers.get('idempotent-replayed'), null);
  });

  test('an incremental load of a source that loads in full only is 422 naming load_type', async () => {
    const res = await srv.call('POST', LOADS, 422, { params: { id: active.id }, body: { load_type: 'incremental' } });
    assert.equal(res.body.field, 'load_type');
    assert.match(res.body.detail, /loads in full only/);
  });

  test('an Idempotency-Key longer than 255 characters is 400', async () => {
    const res = await srv.call('POST', LOADS, 400, {
      params: { id: active.id },
      body: { load_type: 'full' },
      headers: { 'idempotency-key': 'k'.repeat(256) },
    });
    assert.equal(res.body.field, 'Idempotency-Key');
    await srv.call('POST', LOADS, 202, { params: { id: active.id }, body: { load_type: 'full' }, headers: { 'idempotency-key': 'k'.repeat(255) } });
  });

  test('an inactive source is 409 naming active; an unknown one 404', async () => {
    const res = await srv.call('POST', LOADS, 409, { params: { id: inactive.id }, body: { load_type: 'full' } });
    assert.equal(res.body.field, 'active');
    await srv.call('POST', LOADS, 404, { params: { id: 999999 }, body: { load_type: 'full' } });
    await srv.call('POST', LOADS, 404, { params: { id: '9'.repeat(30) }, body: { load_type: 'full' } });
    await srv.call('POST', LOADS, 400, { params: { id: 'abc' }, body: { load_type: 'full' } });
  });

  test('a bad body is 400, 415 or 422', async () => {
    for (const [body, field] of [[{}, 'load_type'], [{ load_type: 'sometimes' }, 'load_type'], [{ load_type: 5 }, 'load_type'], [{ load_type: 'full', priority: 1 }, 'priority']]) {
      const res = await srv.call('POST', LOADS, 422, { params: { id: active.id }, body });
      assert.equal(res.body.field, field);
    }
    await srv.call('POST', LOADS, 400, { params: { id: active.id }, rawBody: '{"load_type":', headers: { 'content-type': 'application/json' } });
    await srv.call('POST', LOADS, 415, { params: { id: active.id }, rawBody: 'load_type=full', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  });

  test('a source with a queued load cannot be deleted (409)', async () => {
    const res = await srv.call('DELETE', '/v1/sources/{id}', 409, { params: { id: active.id } });
    assert.match(res.body.detail, /queued or running load/);
  });
});

describe('GET /v1/jobs', () => {
  test('lists newest first, pages by cursor, filters', async () => {
    const s = await source({ load_type: 'incremental', offset_mode: 'watermark', offset_column: 'id' });
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await srv.call('POST', LOADS, 202, { params: { id: s.id }, body: { load_type: i % 2 ? 'incremental' : 'full' } })).body.id);
    }
    const seen = [];
    let cursor;
    let pages = 0;
    do {
      const res = await srv.call('GET', JOBS, 200, { query: { source_id: String(s.id), limit: '2', ...(cursor ? { cursor } : {}) } });
      seen.push(...res.body.items.map((j) => j.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...ids].reverse());

    await lake.sql(`UPDATE control.jobs SET state = 'JOB_STATE_FAILED', finished_at = now(), error = 'x', error_kind = 'permanent' WHERE id = ${ids[1]}`);
    const failed = await srv.call('GET', JOBS, 200, { query: { source_id: String(s.id), state: 'JOB_STATE_FAILED' } });
    assert.deepEqual(failed.body.items.map((j) => j.id), [ids[1]]);
    assert.equal(failed.body.items[0].error_kind, 'permanent');
    const all = await srv.call('GET', JOBS, 200, { query: { limit: '500' } });
    assert.ok(all.body.items.length >= 5);
  });

  test('bad query parameters are 400 naming them', async () => {
    for (const [query, field] of [
      [{ state: 'DONE' }, 'state'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '501' }, 'limit'],
      [{ cursor: 'x' }, 'cursor'],
      [{ source_id: '-1' }, 'source_id'],
      [{ pipeline_run_id: 'a' }, 'pipeline_run_id'],
      [{ sort: 'id' }, 'sort'],
    ]) {
      const res = await srv.call('GET', JOBS, 400, { query });
      assert.equal(res.body.field, field);
    }
  });

  test('an unknown job is 404, a non-numeric id 400', async () => {
    await srv.call('GET', JOB, 404, { params: { id: 999999 } });
    await srv.call('GET', JOB, 400, { params: { id: 'x' } });
  });
});

describe('POST /v1/jobs/{id}/cancel', () => {
  async function newJob() {
    const s = await source();
    return (await srv.call('POST', LOADS, 202, { params: { id: s.id }, body: { load_type: 'full' } })).body;
  }

  test('a queued job is cancelled at once; asking again is 409', async () => {
    const job = await newJob();
    const res = await srv.call('POST', CANCEL, 202, { params: { id: job.id } });
    assert.equal(res.body.state, 'JOB_STATE_CANCELLED');
    assert.equal(res.body.error_kind, 'cancelled');
    assert.ok(res.body.finished_at);
    const again = await srv.call('POST', CANCEL, 409, { params: { id: job.id } });
    assert.match(again.body.detail, /already ended \(JOB_STATE_CANCELLED\)/);
  });

  test('a running job becomes CANCELLING, twice the same; a finished one is 409', async () => {
    const job = await newJob();
    await lake.sql(`UPDATE control.jobs SET state = 'JOB_STATE_RUNNING', started_at = now(), worker = 'it:1:0', heartbeat_at = now(), attempt = 1 WHERE id = ${job.id}`);
    const running = await srv.call('GET', JOB, 200, { params: { id: job.id } });
    assert.equal(typeof running.body.duration_seconds, 'number');
    const r1 = await srv.call('POST', CANCEL, 202, { params: { id: job.id } });
    assert.equal(r1.body.state, 'JOB_STATE_CANCELLING');
    const r2 = await srv.call('POST', CANCEL, 202, { params: { id: job.id } });
    assert.equal(r2.body.state, 'JOB_STATE_CANCELLING');
    await lake.sql(`UPDATE control.jobs SET state = 'JOB_STATE_DONE', finished_at = now() WHERE id = ${job.id}`);
    await srv.call('POST', CANCEL, 409, { params: { id: job.id } });
  });

  test('an unknown job is 404', async () => {
    await srv.call('POST', CANCEL, 404, { params: { id: 999999 } });
    await srv.call('POST', CANCEL, 400, { params: { id: '0' } });
  });
});

describe('pipelines', () => {
  const NAME = 'pipesys_postgresql_full';

  before(async () => {
    await source({ system: 'pipesys', max_parallel_tasks: 3 });
    await source({ system: 'pipesys' });
    await source({ system: 'pipesys', active: false });
  });

  test('GET /v1/pipelines lists one per system, type and load type with active sources', async () => {
    const res = await srv.call('GET', PIPELINES, 200);
    const p = res.body.items.find((x) => x.name === NAME);
    assert.deepEqual({ ...p, last_run: undefined }, {
      name: NAME,
      system: 'pipesys',
      source_type: 'postgresql',
      load_type: 'full',
      sources: 2,
      max_parallel: 3,
      last_run: undefined,
    });
    assert.equal(p.last_run, null);
    await srv.call('GET', PIPELINES, 400, { query: { limit: '5' } });
  });

  test('a run queues one job per active source; the run is listed and shown', async () => {
    const res = await srv.call('POST', RUNS, 202, { params: { name: NAME } });
    const run = res.body;
    assert.equal(res.headers.get('location'), `/v1/pipelines/${NAME}/runs/${run.id}`);
    assert.equal(run.pipeline, NAME);
    assert.equal(run.state, 'JOB_STATE_QUEUED');
    assert.equal(run.max_parallel, 3);
    assert.equal(run.jobs.length, 2);
    assert.deepEqual(run.job_counts, { total: 2, queued: 2, running: 0, done: 0, failed: 0, cancelled: 0 });
    assert.ok(run.jobs.every((j) => j.pipeline_run_id === run.id));

    const second = (await srv.call('POST', RUNS, 202, { params: { name: NAME } })).body;
    const list = await srv.call('GET', RUNS, 200, { params: { name: NAME }, query: { limit: '1' } });
    assert.deepEqual(list.body.items.map((r) => r.id), [second.id]);
    assert.equal(list.body.items[0].jobs, null, 'lists carry no jobs');
    const next = await srv.call('GET', RUNS, 200, { params: { name: NAME }, query: { limit: '1', cursor: list.body.next_cursor } });
    assert.deepEqual(next.body.items.map((r) => r.id), [run.id]);

    const got = await srv.call('GET', RUN, 200, { params: { name: NAME, run_id: run.id } });
    assert.deepEqual(got.body.jobs.map((j) => j.id), run.jobs.map((j) => j.id));
    const jobs = await srv.call('GET', JOBS, 200, { query: { pipeline_run_id: String(run.id) } });
    assert.equal(jobs.body.items.length, 2);

    const pipes = await srv.call('GET', PIPELINES, 200);
    assert.equal(pipes.body.items.find((x) => x.name === NAME).last_run.id, second.id);
  });

  test('unknown pipelines and runs are 404', async () => {
    for (const name of ['nosuch', 'pipesys_oracle_full', 'pipesys_postgresql_sometimes', '_postgresql_full']) {
      const res = await srv.call('POST', RUNS, 404, { params: { name } });
      assert.equal(res.body.field, 'name');
      await srv.call('GET', RUNS, 404, { params: { name } });
    }
    const none = await srv.call('POST', RUNS, 404, { params: { name: 'nosystem_postgresql_full' } });
    assert.match(none.body.detail, /has no active source/);
    await srv.call('GET', RUN, 404, { params: { name: NAME, run_id: 999999 } });
    await srv.call('GET', RUN, 400, { params: { name: NAME, run_id: 'x' } });
    const other = (await srv.call('GET', RUNS, 200, { params: { name: NAME } })).body.items[0];
    await srv.call('GET', RUN, 404, { params: { name: 'jobsys_postgresql_full', run_id: other.id } });
  });

  test('bad run list parameters are 400', async () => {
    for (const query of [{ limit: '201' }, { limit: '0' }, { cursor: 'x' }, { state: 'x' }]) {
      await srv.call('GET', RUNS, 400, { params: { name: NAME }, query });
    }
  });
});

describe('stop', () => {
  test('the server stops cleanly (SIGTERM → exit 0, no sanitizer report)', async () => {
    await srv.stop();
  });
});
