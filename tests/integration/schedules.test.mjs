// Schedules against the real server and scheduler.
//
// With a test clock (SHOPPERLAKE_TEST_CLOCK: a file the scheduler reads each
// second), so days pass in seconds: /v1/schedules CRUD and its refusals, the
// daylight-saving days of America/New_York (Vixie cron's rule), catch-up after
// every server was down, overlapping runs (a fire waits), deadlines, a target
// that disappears, retries of a failed load. Then in real time: two servers
// sharing one lake fire `* * * * *` exactly once per minute, and a server
// killed at the fire instant loses nothing.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Lake, ROOT, sleep } from './lib/harness.mjs';
import { poll } from './lib/marketplace.mjs';
import { assertRequestMatchesSpec, spec } from './lib/spec.mjs';

const LIST = '/v1/schedules';
const ONE = '/v1/schedules/{id}';
const RUNS = '/v1/schedules/{id}/runs';
const MERGE = { 'content-type': 'application/merge-patch+json' };
const TICK_WAIT_MS = 2_500; // two scheduler ticks and some

const iso = (s) => new Date(s).toISOString();

async function runsOf(srv, id) {
  const res = await srv.call('GET', RUNS, 200, { params: { id }, query: { limit: 200 } });
  return res.body.items.slice().reverse(); // oldest first
}

async function waitRuns(srv, id, n, what) {
  return poll(async () => {
    const runs = await runsOf(srv, id);
    return runs.length >= n ? runs : null;
  }, { timeoutMs: 15_000, what: what ?? `${n} runs of schedule ${id}` });
}

function pgSource(system, object, over = {}) {
  return {
    system,
    source_type: 'postgresql',
    database: 'fabrica',
    object,
    load_type: 'full',
    connection_secret: 'env:LAKE_SECRET_IT_NO_SUCH_SECRET',
    columns: [{ name: 'id', type: 'bigint', key: true }],
    ...over,
  };
}

describe('with a test clock', () => {
  let lake;
  let srv;
  let clockFile;
  let env;

  const setClock = (t) => writeFileSync(clockFile, `${t}\n`);
  const create = async (def, status = 201) => {
    if (status === 201) assertRequestMatchesSpec('POST', LIST, 'application/json', def);
    return (await srv.call('POST', LIST, status, { body: def })).body;
  };
  const patch = async (id, body, status = 200) => (await srv.call('PATCH', ONE, status, { params: { id }, body, headers: MERGE })).body;
  const get = async (id) => (await srv.call('GET', ONE, 200, { params: { id } })).body;
  const pause = (id) => patch(id, { active: false });

  before(async () => {
    lake = await Lake.create('schedules');
    clockFile = path.join(lake.tmp, 'clock');
    setClock('2027-01-01T00:00:00Z');
    env = { SHOPPERLAKE_TEST_CLOCK: clockFile, SHOPPERLAKE_WORKERS: 0 };
    srv = await lake.startServer({ env });
  });

  after(async () => {
    await lake?.close();
  });

  describe('/v1/schedules', () => {
    test('the spec examples are accepted, stored with their defaults and their next five fires', async () => {
      const src = (await srv.call('POST', '/v1/sources', 201, { body: pgSource('marketplace', 'vendas') })).body;
      const examples = spec.paths[LIST].post.requestBody.content['application/json'].examples;
      const stored = {};
      for (const [name, ex] of Object.entries(examples)) {
        const def = { ...ex.value, ...(ex.value.source_id ? { source_id: src.id } : {}) };
        const res = await srv.call('POST', LIST, 201, { body: def });
        const s = res.body;
        assert.equal(res.headers.get('location'), `/v1/schedules/${s.id}`);
        for (const [k, v] of Object.entries(def)) assert.deepEqual(s[k], v, `${name}.${k}`);
        assert.equal(s.next_fires.length, 5, name);
        stored[name] = s;
      }
      // defaults
      const h = stored.hourlyPipeline;
      assert.deepEqual(
        { active: h.active, catchup: h.catchup, catchup_limit: h.catchup_limit, max_active_runs: h.max_active_runs, retry_delay: h.retry_delay, waiting_since: h.waiting_since },
        { active: true, catchup: 'none', catchup_limit: 10, max_active_runs: 1, retry_delay: 'PT5M', waiting_since: null },
      );
      // next fires from the clock (2027-01-01T00:00Z = 2026-12-31 21:00 in São Paulo), local and UTC
      assert.deepEqual(h.next_fires.slice(0, 2), [
        { local: '2026-12-31T22:00:00-03:00', utc: '2027-01-01T01:00:00+00:00' },
        { local: '2026-12-31T23:00:00-03:00', utc: '2027-01-01T02:00:00+00:00' },
      ]);
      assert.deepEqual(stored.staleFiles.next_fires.slice(0, 2).map((f) => f.local), ['2027-01-01T07:00:00-03:00', '2027-01-02T07:00:00-03:00']);
      assert.deepEqual(stored.sourceLoad.next_fires.slice(0, 2).map((f) => f.local), ['2027-01-01T02:30:00-03:00', '2027-01-04T02:30:00-03:00']); // Fri, then Mon
      assert.equal(h.target_problem, 'pipeline marketplace_postgresql_incremental has no active source');
      assert.equal(stored.staleFiles.target_problem, null); // built-in tasks run (monitoring.test.mjs)
      assert.equal(stored.sourceLoad.target_problem, null);

      // get, list (paged), reader may read, not write
      assert.deepEqual(await get(h.id), h);
      const page1 = await srv.call('GET', LIST, 200, { query: { limit: 2 }, token: 'reader' });
      assert.equal(page1.body.items.length, 2);
      const page2 = await srv.call('GET', LIST, 200, { query: { limit: 2, cursor: page1.body.next_cursor } });
      assert.deepEqual([...page1.body.items, ...page2.body.items].map((s) => s.id), Object.values(stored).map((s) => s.id));
      assert.equal(page2.body.next_cursor, null);
      await srv.call('POST', LIST, 403, { body: examples.staleFiles.value, token: 'reader' });
      await create({ ...examples.staleFiles.value }, 409); // the name is taken

      // patch: a new cron counts its fires again; the target changes with a null
      const p = await patch(stored.staleFiles.id, { cron: '0 7 * * SUN', name: null });
      assert.equal(p.cron, '0 7 * * SUN');
      assert.equal(p.name, null);
      assert.equal(p.next_fires[0].local, '2027-01-03T07:00:00-03:00');
      const moved = await patch(stored.staleFiles.id, { task: null, pipeline: 'marketplace_postgresql_full' });
      assert.equal(moved.pipeline, 'marketplace_postgresql_full');
      const paused = await pause(stored.staleFiles.id);
      assert.deepEqual(paused.next_fires, []);

      for (const s of Object.values(stored)) await srv.call('DELETE', ONE, 204, { params: { id: s.id } });
      await srv.call('GET', ONE, 404, { params: { id: h.id } });
      await srv.call('GET', RUNS, 404, { params: { id: h.id } });
      await srv.call('DELETE', ONE, 404, { params: { id: h.id } });
    });

    test("the demo's schedules (sql/demo/schedules.json) are accepted: the seed's hourly pipeline, 10-minute checks, 07:00 stale files", async () => {
      const demo = JSON.parse(readFileSync(path.join(ROOT, 'sql/demo/schedules.json'), 'utf8'));
      const byName = {};
      for (const def of demo) byName[def.name] = await create(def);
      assert.deepEqual(Object.keys(byName).sort(), ['marketplace-incremental-hourly', 'monitoring-checks', 'stale-files-daily']);
      assert.equal(byName['marketplace-incremental-hourly'].pipeline, 'marketplace_postgresql_incremental');
      assert.deepEqual(byName['monitoring-checks'].next_fires.slice(0, 3).map((f) => f.utc), [
        '2027-01-01T00:10:00+00:00', '2027-01-01T00:20:00+00:00', '2027-01-01T00:30:00+00:00']);
      assert.equal(byName['stale-files-daily'].next_fires[0].local, '2027-01-01T07:00:00-03:00');
      assert.equal(byName['stale-files-daily'].next_fires[0].utc, '2027-01-01T10:00:00+00:00');
      for (const s of Object.values(byName)) await srv.call('DELETE', ONE, 204, { params: { id: s.id } });
    });

    test('every refusal names its field', async () => {
      const base = { task: 'monitoring_checks', cron: '*/10 * * * *' };
      const cases = [
        [{ ...base, cron: '*/10 * * *' }, 'cron', /five fields/],
        [{ ...base, cron: '0 24 * * *' }, 'cron', /hour field '24': 24 is out of range 0-23/],
        [{ ...base, cron: '0 0 * * FUNDAY' }, 'cron', /day-of-week field 'FUNDAY': unknown name/],
        [{ ...base, cron: '0 0 30 FEB *' }, 'cron', /no selected month has such a day/],
        [{ ...base, cron: 7 }, 'cron', /string/],
        [{ ...base, timezone: 'America/Atlantis' }, 'timezone', /IANA/],
        [{ ...base, timezone: "UTC'; --" }, 'timezone', /IANA/],
        [{ cron: '0 * * * *' }, 'pipeline', /exactly one target/],
        [{ ...base, pipeline: 'marketplace_postgresql_full' }, 'pipeline', /exactly one target/],
        [{ ...base, task: 'tidy_up' }, 'task', /monitoring_checks, stale_files_check/],
        [{ cron: '0 * * * *', pipeline: 'marketplace' }, 'pipeline', /<system>_<source_type>_<load_type>/],
        [{ cron: '0 * * * *', source_id: 999999, load_type: 'full' }, 'source_id', /not a source/],
        [{ cron: '0 * * * *', source_id: 1, load_type: 'partial' }, 'load_type', /full, incremental/],
        [{ ...base, catchup: 'some' }, 'catchup', /none, all/],
        [{ ...base, catchup_limit: 0 }, 'catchup_limit', /1 to 1000/],
        [{ ...base, max_active_runs: 65 }, 'max_active_runs', /1 to 64/],
        [{ ...base, deadline: '45 minutes' }, 'deadline', /ISO 8601/],
        [{ ...base, retries: 11 }, 'retries', /0 to 10/],
        [{ ...base, retry_delay: 'P2Y' }, 'retry_delay', /ISO 8601/],
        [{ ...base, active: 'yes' }, 'active', /true or false/],
        [{ ...base, next_fires: [] }, 'next_fires', /computed/],
        [{ ...base, colour: 'blue' }, 'colour', /not a field/],
      ];
      for (const [def, field, detail] of cases) {
        const res = await srv.call('POST', LIST, 422, { body: def });
        assert.equal(res.body.field, field, JSON.stringify(def));
        assert.match(res.body.detail, detail, JSON.stringify(def));
      }
      const s = await create(base);
      const bad = await srv.call('PATCH', ONE, 422, { params: { id: s.id }, body: { cron: '61 * * * *' }, headers: MERGE });
      assert.equal(bad.body.field, 'cron');
      for (const field of ['id', 'created_at']) {
        const ro = await srv.call('PATCH', ONE, 422, { params: { id: s.id }, body: { [field]: 1 }, headers: MERGE });
        assert.equal(ro.body.field, field);
      }
      assert.equal((await get(s.id)).cron, '*/10 * * * *', 'a refused patch changes nothing');
      await srv.call('GET', ONE, 400, { params: { id: 'abc' } });
      await srv.call('GET', LIST, 400, { query: { colour: 'blue' } });
      await srv.call('DELETE', ONE, 204, { params: { id: s.id } });
    });
  });

  describe('daylight-saving time (America/New_York), Vixie cron\'s rule', () => {
    test('spring forward: 02:30 fires once, at 03:00 EDT; */30 skips the hour that does not exist', async () => {
      setClock('2027-03-13T12:00:00Z');
      const fixed = await create({ task: 'monitoring_checks', cron: '30 2 * * *', timezone: 'America/New_York', catchup: 'all' });
      assert.deepEqual(fixed.next_fires.slice(0, 3), [
        { local: '2027-03-14T03:00:00-04:00', utc: '2027-03-14T07:00:00+00:00' },
        { local: '2027-03-15T02:30:00-04:00', utc: '2027-03-15T06:30:00+00:00' },
        { local: '2027-03-16T02:30:00-04:00', utc: '2027-03-16T06:30:00+00:00' },
      ]);
      setClock('2027-03-14T06:10:00Z'); // 01:10 EST
      const wild = await create({ task: 'monitoring_checks', cron: '*/30 * * * *', timezone: 'America/New_York' });
      assert.deepEqual(wild.next_fires.map((f) => f.local), [
        '2027-03-14T01:30:00-05:00', '2027-03-14T03:00:00-04:00', '2027-03-14T03:30:00-04:00',
        '2027-03-14T04:00:00-04:00', '2027-03-14T04:30:00-04:00',
      ]);
      await pause(wild.id);

      setClock('2027-03-15T12:00:00Z');
      const runs = await waitRuns(srv, fixed.id, 2);
      await sleep(TICK_WAIT_MS);
      const all = await runsOf(srv, fixed.id);
      assert.deepEqual(all.map((r) => iso(r.scheduled_at)), ['2027-03-14T07:00:00.000Z', '2027-03-15T06:30:00.000Z']);
      assert.deepEqual(runs.map((r) => [r.outcome, r.reason, r.task]), [
        ['started', null, 'monitoring_checks'],
        ['started', null, 'monitoring_checks'],
      ]);
      await pause(fixed.id);
    });

    test('fall back: 01:30 fires once (EDT); */30 fires in both 01:00 hours', async () => {
      setClock('2027-11-06T12:00:00Z');
      const fixed = await create({ task: 'monitoring_checks', cron: '30 1 * * *', timezone: 'America/New_York', catchup: 'all' });
      assert.deepEqual(fixed.next_fires.slice(0, 2), [
        { local: '2027-11-07T01:30:00-04:00', utc: '2027-11-07T05:30:00+00:00' },
        { local: '2027-11-08T01:30:00-05:00', utc: '2027-11-08T06:30:00+00:00' },
      ]);
      setClock('2027-11-07T04:40:00Z');
      const wild = await create({ task: 'monitoring_checks', cron: '*/30 * * * *', timezone: 'America/New_York', catchup: 'all', catchup_limit: 100 });
      setClock('2027-11-07T07:10:00Z');
      await waitRuns(srv, wild.id, 5);
      await pause(wild.id);
      const w = await runsOf(srv, wild.id);
      assert.deepEqual(w.map((r) => iso(r.scheduled_at)), [
        '2027-11-07T05:00:00.000Z', '2027-11-07T05:30:00.000Z', // 01:00, 01:30 EDT
        '2027-11-07T06:00:00.000Z', '2027-11-07T06:30:00.000Z', // 01:00, 01:30 EST
        '2027-11-07T07:00:00.000Z', //                             02:00 EST
      ]);
      setClock('2027-11-08T12:00:00Z');
      await waitRuns(srv, fixed.id, 2);
      await sleep(TICK_WAIT_MS);
      const f = await runsOf(srv, fixed.id);
      assert.deepEqual(f.map((r) => iso(r.scheduled_at)), ['2027-11-07T05:30:00.000Z', '2027-11-08T06:30:00.000Z']);
      await pause(fixed.id);
    });
  });

  describe('catch-up, overlap, deadlines, a target that disappears', () => {
    test('every server down for hours: catchup none runs once, catchup all runs the latest catchup_limit', async () => {
      setClock('2027-12-01T00:30:00Z');
      const none = await create({ task: 'monitoring_checks', cron: '0 * * * *' });
      const all = await create({ task: 'monitoring_checks', cron: '0 * * * *', catchup: 'all', catchup_limit: 3 });
      await srv.stop();
      setClock('2027-12-01T05:10:00Z');
      // a server that does not schedule (SHOPPERLAKE_SCHEDULER=0) fires nothing
      srv = await lake.startServer({ env: { ...env, SHOPPERLAKE_SCHEDULER: 0 } });
      await sleep(TICK_WAIT_MS);
      assert.deepEqual(await runsOf(srv, none.id), []);
      await srv.stop();
      srv = await lake.startServer({ env });
      const n = await waitRuns(srv, none.id, 1);
      const a = await waitRuns(srv, all.id, 3);
      await sleep(TICK_WAIT_MS);
      assert.deepEqual((await runsOf(srv, none.id)).map((r) => [iso(r.scheduled_at), r.reason]), [
        ['2027-12-01T05:00:00.000Z', '4 older fires passed over (catchup none)'],
      ]);
      assert.equal(n[0].started_at.slice(0, 19), '2027-12-01T05:10:00');
      assert.deepEqual((await runsOf(srv, all.id)).map((r) => [iso(r.scheduled_at), r.reason]), [
        ['2027-12-01T03:00:00.000Z', '2 older fires passed over (catchup all)'],
        ['2027-12-01T04:00:00.000Z', null],
        ['2027-12-01T05:00:00.000Z', null],
      ]);
      assert.equal(a.length, 3);
      assert.deepEqual((await get(none.id)).next_fires[0].utc, '2027-12-01T06:00:00+00:00');
      await pause(none.id);
      await pause(all.id);
    });

    test('a fire that finds the previous run still going waits, then runs once; deadlines are reported; a missing target is recorded', async () => {
      const src = (await srv.call('POST', '/v1/sources', 201, { body: pgSource('fabrica', 't1') })).body;
      setClock('2027-12-02T00:10:00Z');
      const s = await create({ pipeline: 'fabrica_postgresql_full', cron: '0 * * * *', deadline: 'PT30M' });
      assert.equal(s.target_problem, null);

      setClock('2027-12-02T01:00:30Z');
      const [r1] = await waitRuns(srv, s.id, 1);
      assert.equal(r1.outcome, 'started');
      assert.equal(r1.state, 'JOB_STATE_QUEUED'); // no workers: it stays queued
      assert.ok(r1.pipeline_run_id > 0);
      assert.equal(iso(r1.deadline_at), '2027-12-02T01:30:00.000Z');
      const run = await srv.call('GET', '/v1/pipelines/{name}/runs/{run_id}', 200, { params: { name: 'fabrica_postgresql_full', run_id: r1.pipeline_run_id } });
      assert.equal(run.body.jobs.length, 1);

      setClock('2027-12-02T02:00:30Z');
      await srv.waitForLog((l) => l.msg === 'schedule run missed its deadline' && l.run_id === r1.id, 10_000);
      await sleep(TICK_WAIT_MS);
      assert.equal((await runsOf(srv, s.id)).length, 1, 'the 02:00 fire waits');
      const waiting = await get(s.id);
      assert.equal(iso(waiting.waiting_since), '2027-12-02T02:00:00.000Z');
      const missed = (await runsOf(srv, s.id))[0];
      assert.equal(missed.deadline_missed_at.slice(0, 19), '2027-12-02T02:00:30');

      setClock('2027-12-02T03:00:30Z');
      await sleep(TICK_WAIT_MS);
      assert.equal((await runsOf(srv, s.id)).length, 1, 'still waiting');
      await srv.call('POST', '/v1/jobs/{id}/cancel', 202, { params: { id: run.body.jobs[0].id } });
      const [, r2] = await waitRuns(srv, s.id, 2);
      assert.equal(iso(r2.scheduled_at), '2027-12-02T03:00:00.000Z');
      assert.equal(r2.reason, '1 older fire passed over (catchup none)');
      assert.equal((await runsOf(srv, s.id))[0].state, 'JOB_STATE_CANCELLED');
      assert.equal((await get(s.id)).waiting_since, null);

      // the pipeline loses its only source: reported on the schedule and on the fire
      const r2run = await srv.call('GET', '/v1/pipelines/{name}/runs/{run_id}', 200, { params: { name: 'fabrica_postgresql_full', run_id: r2.pipeline_run_id } });
      await srv.call('POST', '/v1/jobs/{id}/cancel', 202, { params: { id: r2run.body.jobs[0].id } });
      await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: src.id }, body: { active: false }, headers: MERGE });
      assert.equal((await get(s.id)).target_problem, 'pipeline fabrica_postgresql_full has no active source');
      setClock('2027-12-02T04:00:30Z');
      const r3 = (await waitRuns(srv, s.id, 3))[2];
      assert.deepEqual([r3.outcome, r3.reason, r3.state, r3.pipeline_run_id], ['target_missing', 'pipeline fabrica_postgresql_full has no active source', null, null]);
      await srv.waitForLog((l) => l.msg === 'schedule target cannot run' && l.schedule_id === s.id);
      await srv.call('DELETE', ONE, 204, { params: { id: s.id } });
    });
  });

  describe('retries and a deleted source (one worker)', () => {
    test('a failed load is retried `retries` times; a deleted source is reported', async () => {
      await srv.stop();
      srv = await lake.startServer({ env: { ...env, SHOPPERLAKE_WORKERS: 1 } });
      const src = (await srv.call('POST', '/v1/sources', 201, { body: pgSource('oficina', 't1') })).body;
      setClock('2027-12-03T23:59:00Z');
      const s = await create({ source_id: src.id, load_type: 'full', cron: '0 0 * * *', retries: 1, retry_delay: 'PT0S' });
      setClock('2027-12-04T00:00:30Z');
      const runs = await poll(async () => {
        const r = await runsOf(srv, s.id);
        return r.length === 2 && r.every((x) => x.state === 'JOB_STATE_FAILED') ? r : null;
      }, { timeoutMs: 30_000, what: 'two failed attempts' });
      await sleep(TICK_WAIT_MS);
      assert.equal((await runsOf(srv, s.id)).length, 2, 'no third attempt');
      assert.deepEqual(runs.map((r) => [iso(r.scheduled_at), r.attempt, r.reason]), [
        ['2027-12-04T00:00:00.000Z', 1, null],
        ['2027-12-04T00:00:00.000Z', 2, 'retry 1 of 1'],
      ]);
      assert.notEqual(runs[0].job_id, runs[1].job_id);
      const job = (await srv.call('GET', '/v1/jobs/{id}', 200, { params: { id: runs[0].job_id } })).body;
      assert.equal(job.source_id, src.id);

      await srv.call('DELETE', '/v1/sources/{id}', 204, { params: { id: src.id } });
      assert.equal((await get(s.id)).target_problem, `source ${src.id} was deleted`);
      setClock('2027-12-05T00:00:30Z');
      const r3 = (await waitRuns(srv, s.id, 3))[2];
      assert.deepEqual([r3.outcome, r3.reason], ['target_missing', `source ${src.id} was deleted`]);
      await srv.stop();
    });
  });
});

describe('in real time, two servers sharing a lake', () => {
  let lake;

  before(async () => {
    lake = await Lake.create('schedrt');
  });
  after(async () => {
    await lake?.close();
  });

  // Resolves `offsetMs` after the next minute boundary (negative: before it).
  async function untilMinute(offsetMs) {
    const now = Date.now();
    let at = Math.ceil(now / 60_000) * 60_000 + offsetMs;
    if (at - now < 500) at += 60_000;
    await sleep(at - now);
    return Math.round((at - offsetMs) / 60_000) * 60_000; // the boundary
  }

  test('* * * * * fires exactly once per minute; a server killed at the fire instant loses nothing', { timeout: 300_000 }, async () => {
    let a = await lake.startServer();
    const b = await lake.startServer();
    const s = (await a.call('POST', LIST, 201, { body: { task: 'monitoring_checks', cron: '* * * * *' } })).body;
    const counts = async () => lake.sql(`SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'HH24:MI') || '=' || count(*) FROM control.schedule_runs WHERE schedule_id = ${s.id} GROUP BY scheduled_at ORDER BY scheduled_at`);

    const m1 = Math.floor(Date.parse(s.created_at) / 60_000) * 60_000 + 60_000; // the first fire
    await untilMinute(3_000);
    // kill A just before the next fire instant: B fires it alone
    const m2 = await untilMinute(-150);
    a.proc.kill('SIGKILL');
    await a.exited;
    lake.servers.delete(a);
    a.assertNoSanitizerReport();
    await untilMinute(3_000);
    // B is killed right at its fire instant, A comes back: the fire is not lost
    a = await lake.startServer();
    const m3 = await untilMinute(300);
    b.proc.kill('SIGKILL');
    await b.exited;
    lake.servers.delete(b);
    b.assertNoSanitizerReport();
    await sleep(3_000);
    await a.stop();

    const hhmm = (t) => new Date(t).toISOString().slice(11, 16);
    const got = (await counts()).split('\n').filter(Boolean);
    const want = [];
    for (let t = m1; t <= m3; t += 60_000) want.push(`${hhmm(t)}=1`);
    assert.deepEqual(got, want, `every minute from ${hhmm(m1)} to ${hhmm(m3)} once (m2 ${hhmm(m2)})`);
    const servers = await lake.sql(`SELECT count(DISTINCT server) FROM control.schedule_runs WHERE schedule_id = ${s.id}`);
    assert.ok(Number(servers) >= 1);
  });
});
