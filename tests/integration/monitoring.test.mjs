// Monitoring against the real server, scheduler and Alertmanager.
//
// With a test clock (SHOPPERLAKE_TEST_CLOCK), so hours pass in seconds: a
// source's health from options.freshness (fresh -> late -> stale -> fresh
// again after a real load) and ?health=; a failing load raises an alert
// that a later successful load resolves; the built-in tasks
// monitoring_checks and stale_files_check fired by schedules (an sftp
// source whose newest file is old); the server's own period stops while a
// schedule runs the checks. Then in real time: alerts delivered to the real
// Alertmanager from Debian (started here on loopback, which notifies a
// receiver of this file once per alert) and to a generic webhook that
// refuses the first post (retried), re-sent while firing and resolved.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, renameSync, writeFileSync as writeFileNow } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Lake, READER_TOKEN as READER, ROOT as ROOT_DIR, sleep } from './lib/harness.mjs';
import { SourceDb, poll, runLoad } from './lib/marketplace.mjs';

const MERGE = { 'content-type': 'application/merge-patch+json' };
const AM_BIN = '/usr/bin/prometheus-alertmanager';
const AM_PORT = 19091;
const HOOK_PORT = 19092;     // the lake's generic webhook
const AM_HOOK_PORT = 19093;  // Alertmanager's own notifications

// The clock file is replaced, never rewritten in place: the scheduler reading
// a half-written file would fall back to the real time.
function writeFileSync(file, text) {
  writeFileNow(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

function itensDef(object, over = {}) {
  return {
    system: 'mon',
    source_type: 'postgresql',
    database: 'loja',
    object,
    load_type: 'full',
    connection_secret: 'env:LAKE_SECRET_MON_URL',
    columns: [{ name: 'id', type: 'bigint', key: true }, { name: 'nome', type: 'text' }],
    ...over,
  };
}

async function makeSourceDb(tag) {
  const src = await SourceDb.create(tag, { sales: 0 });
  for (const t of ['itens', 'itens_b', 'itens_c']) {
    await src.sql(`CREATE TABLE public.${t} (id bigint PRIMARY KEY, nome text);
                   INSERT INTO public.${t} SELECT g, 'item ' || g FROM generate_series(1, 20) g`);
  }
  return src;
}

describe('with a test clock', () => {
  let lake;
  let src;
  let srv;
  let clockFile;
  let clock; // ms

  const iso = (ms) => new Date(ms).toISOString();
  // Moves the clock and waits for the server's own checks at that instant.
  const checksAt = async (ms) => {
    clock = ms;
    writeFileSync(clockFile, `${iso(ms)}\n`);
    return srv.waitForLog((l) => l.msg === 'monitoring checks ran' && l.at === iso(ms), 10_000);
  };
  const firing = async (query = {}) =>
    (await srv.call('GET', '/v1/alerts', 200, { query: { state: 'firing', ...query }, token: 'reader' })).body.items;
  const source = async (id) => (await srv.call('GET', '/v1/sources/{id}', 200, { params: { id }, token: 'reader' })).body;

  before(async () => {
    lake = await Lake.create('monitoring');
    src = await makeSourceDb('monitoring');
    clockFile = path.join(lake.tmp, 'clock');
    clock = Date.now() + 60_000;
    writeFileSync(clockFile, `${iso(clock)}\n`);
    srv = await lake.startServer({
      env: {
        SHOPPERLAKE_TEST_CLOCK: clockFile,
        SHOPPERLAKE_WORKERS: 1,
        SHOPPERLAKE_MONITOR_INTERVAL: 1,
        SHOPPERLAKE_RETENTION_INTERVAL: 1,
        SHOPPERLAKE_JOB_MAX_ATTEMPTS: 1,
        LAKE_SECRET_MON_URL: src.url,
      },
    });
  });

  after(async () => {
    await lake?.close();
    await src?.drop();
  });

  test('options.freshness is checked: durations, known fields, warn not after error', async () => {
    const bad = [
      [{ warn_after: 'soon' }, 'options.freshness.warn_after'],
      [{ error_after: '0h' }, 'options.freshness.error_after'],
      [{ error_after: '400d' }, 'options.freshness.error_after'],
      [{ warn_after: '6h', error_after: '2h' }, 'options.freshness.warn_after'],
      [{ warn_after: '1h', later: '2h' }, 'options.freshness'],
      ['2h', 'options.freshness'],
    ];
    for (const [freshness, field] of bad) {
      const res = await srv.call('POST', '/v1/sources', 422, { body: itensDef('itens', { options: { freshness } }) });
      assert.equal(res.body.field, field, JSON.stringify(freshness));
    }
    const res = await srv.call('GET', '/v1/sources', 400, { query: { health: 'rotten' } });
    assert.equal(res.body.field, 'health');
  });

  test('a source goes fresh -> late -> stale by its SLA, alerts fire and resolve, a real load makes it fresh', async () => {
    const s = (await srv.call('POST', '/v1/sources', 201, {
      body: itensDef('itens', { options: { freshness: { warn_after: '2h', error_after: 'PT6H' } } }),
    })).body;
    const t0 = clock;
    await checksAt(t0 + 1000);
    let h = (await source(s.id)).health;
    assert.equal(h.state, 'fresh');
    assert.equal(h.warn_after_seconds, 7200);
    assert.equal(h.error_after_seconds, 21600);
    assert.equal(h.last_job, null);

    await checksAt(t0 + 3 * 3600_000);
    h = (await source(s.id)).health;
    assert.equal(h.state, 'late');
    assert.ok(h.age_seconds >= 3 * 3600 - 120 && h.age_seconds <= 3 * 3600 + 120, String(h.age_seconds));
    let alerts = await firing({ source_id: s.id });
    assert.deepEqual(alerts.map((a) => [a.alertname, a.severity, a.dedup_key]), [['SourceLate', 'warning', `SourceLate:${s.id}`]]);
    assert.equal(alerts[0].labels.source, 'mon.itens');
    assert.equal(alerts[0].labels.alertname, 'SourceLate');
    const late = alerts[0];
    const list = async (health) =>
      (await srv.call('GET', '/v1/sources', 200, { query: { health }, token: 'reader' })).body.items.map((x) => x.id);
    assert.deepEqual(await list('late'), [s.id]);
    assert.deepEqual(await list('stale'), []);

    // seen again: the same alert, not a new one
    await checksAt(t0 + 3 * 3600_000 + 60_000);
    alerts = await firing({ source_id: s.id });
    assert.deepEqual(alerts.map((a) => a.id), [late.id]);
    assert.equal(alerts[0].started_at, late.started_at);

    await checksAt(t0 + 7 * 3600_000);
    assert.equal((await source(s.id)).health.state, 'stale');
    assert.deepEqual(await list('stale'), [s.id]);
    alerts = await firing({ source_id: s.id });
    assert.deepEqual(alerts.map((a) => [a.alertname, a.severity]), [['SourceStale', 'critical']]);
    assert.match(alerts[0].summary, /mon\.itens: last load is 07:0\d:\d\d old \(stale after 06:00:00\)/);
    const lateNow = (await srv.call('GET', '/v1/alerts/{id}', 200, { params: { id: late.id } })).body;
    assert.equal(lateNow.state, 'resolved');
    assert.equal(lateNow.resolved_at.slice(0, 16), iso(t0 + 7 * 3600_000).slice(0, 16));

    // a real load, then the clock back to real time: fresh, the alert resolved
    const job = await runLoad(srv, s.id, 'full');
    await checksAt(Date.now() + 1000);
    h = (await source(s.id)).health;
    assert.equal(h.state, 'fresh');
    assert.equal(h.last_job.id, job.id);
    assert.equal(h.last_job.state, 'JOB_STATE_DONE');
    assert.ok(h.last_success_at);
    assert.deepEqual(await firing({ source_id: s.id }), []);
    const all = (await srv.call('GET', '/v1/alerts', 200, { query: { source_id: s.id } })).body.items;
    assert.deepEqual(all.map((a) => [a.alertname, a.state]), [['SourceStale', 'resolved'], ['SourceLate', 'resolved']]);
  });

  test('a failed load makes the source failing and fires an alert; a later successful load resolves it', async () => {
    const s = (await srv.call('POST', '/v1/sources', 201, {
      body: itensDef('itens_b', { connection_secret: 'env:LAKE_SECRET_MON_MISSING' }),
    })).body;
    const failed = await runLoad(srv, s.id, 'full', { expect: 'JOB_STATE_FAILED' });
    await checksAt(clock + 2000);
    const h = (await source(s.id)).health;
    assert.equal(h.state, 'failing');
    assert.equal(h.last_job.id, failed.id);
    let alerts = await firing({ source_id: s.id });
    assert.deepEqual(alerts.map((a) => [a.alertname, a.severity]), [['SourceLoadFailed', 'critical']]);
    assert.match(alerts[0].summary, new RegExp(`load job ${failed.id} failed`));
    assert.deepEqual((await srv.call('GET', '/v1/sources', 200, { query: { health: 'failing' } })).body.items.map((x) => x.id), [s.id]);

    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: s.id }, body: { connection_secret: 'env:LAKE_SECRET_MON_URL' }, headers: MERGE });
    await runLoad(srv, s.id, 'full');
    await checksAt(clock + 2000);
    assert.equal((await source(s.id)).health.state, 'fresh');
    assert.deepEqual(await firing({ source_id: s.id }), []);
    alerts = (await srv.call('GET', '/v1/alerts', 200, { query: { source_id: s.id, state: 'resolved' } })).body.items;
    assert.deepEqual(alerts.map((a) => a.alertname), ['SourceLoadFailed']);

    // an inactive source is never alerted on
    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: s.id }, body: { active: false }, headers: MERGE });
    assert.equal((await source(s.id)).health.state, 'inactive');
  });

  test('a load that sets many rows aside (quarantine) fires SourceRowsSetAside; a clean load resolves it', async () => {
    // qtd is text in the source: as integer, the 5 rows of words are quarantined
    await src.sql(`CREATE TABLE IF NOT EXISTS public.itens_q (id bigint PRIMARY KEY, nome text, qtd text);
                   INSERT INTO public.itens_q SELECT g, 'item ' || g, CASE WHEN g <= 5 THEN 'muitos' ELSE g::text END
                   FROM generate_series(1, 20) g ON CONFLICT DO NOTHING`);
    const cols = (qtd) => [{ name: 'id', type: 'bigint', key: true }, { name: 'nome', type: 'text' }, { name: 'qtd', type: qtd }];
    const s = (await srv.call('POST', '/v1/sources', 201, { body: itensDef('itens_q', { columns: cols('integer') }) })).body;
    const job = await runLoad(srv, s.id, 'full');
    assert.equal(job.rows_quarantined, 5);
    await checksAt(clock + 2000);
    let alerts = await firing({ source_id: s.id });
    assert.deepEqual(alerts.map((a) => [a.alertname, a.severity]), [['SourceRowsSetAside', 'warning']]);
    assert.match(alerts[0].summary, new RegExp(`load job ${job.id} set aside 25.0% of its rows`));
    // the values fixed at the source: the next load sets nothing aside
    await src.sql("UPDATE public.itens_q SET qtd = '0' WHERE qtd = 'muitos'");
    await runLoad(srv, s.id, 'full');
    await checksAt(clock + 2000);
    alerts = (await srv.call('GET', '/v1/alerts', 200, { query: { source_id: s.id } })).body.items;
    assert.deepEqual(alerts.map((a) => [a.alertname, a.state]), [['SourceRowsSetAside', 'resolved']]);
    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: s.id }, body: { active: false }, headers: MERGE });
  });

  test('GET /v1/jobs/{id}/logs: the job\'s own lines, oldest first, followed by cursor', async () => {
    const s = (await srv.call('POST', '/v1/sources', 201, { body: itensDef('itens_c', { connection_secret: 'env:LAKE_SECRET_MON_MISSING' }) })).body;
    const failed = await runLoad(srv, s.id, 'full', { expect: 'JOB_STATE_FAILED' });
    const lines = await poll(async () => {
      const items = (await srv.call('GET', '/v1/jobs/{id}/logs', 200, { params: { id: failed.id }, token: 'reader' })).body.items;
      return items.some((l) => l.line.msg === 'job attempt ended') ? items : null;
    }, { timeoutMs: 10_000, what: 'the job\'s lines in the lake' });
    assert.ok(lines.every((l) => l.line.job_id === failed.id));
    assert.deepEqual(lines.map((l) => l.id), lines.map((l) => l.id).slice().sort((a, b) => a - b));
    const ended = lines.find((l) => l.line.msg === 'job attempt ended');
    assert.equal(ended.line.level, 'error');
    assert.match(ended.line.error, /LAKE_SECRET_MON_MISSING is not set/);
    const started = lines.findIndex((l) => l.line.msg === 'job started');
    assert.ok(started >= 0 && started < lines.indexOf(ended), lines.map((l) => l.line.msg).join(', '));
    // paging: one line at a time, then nothing after the last
    const first = (await srv.call('GET', '/v1/jobs/{id}/logs', 200, { params: { id: failed.id }, query: { limit: 1 } })).body;
    assert.equal(first.items[0].id, lines[0].id);
    assert.equal(first.next_cursor, String(lines[0].id));
    const rest = (await srv.call('GET', '/v1/jobs/{id}/logs', 200, { params: { id: failed.id }, query: { cursor: lines.at(-1).id } })).body;
    assert.deepEqual(rest.items, []);
    // another job's lines are not there; an unknown job is 404
    const done = (await srv.call('GET', '/v1/jobs/{id}/logs', 200, { params: { id: 1 } })).body.items;
    assert.ok(done.every((l) => l.line.job_id === 1));
    await srv.call('GET', '/v1/jobs/{id}/logs', 404, { params: { id: 999999 } });
    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: s.id }, body: { active: false }, headers: MERGE });
  });

  test('schedules run monitoring_checks and stale_files_check; the own period waits while a schedule runs the checks', async () => {
    // an sftp source whose newest file (as loaded into control.files) is three days old
    const sftp = (await srv.call('POST', '/v1/sources', 201, {
      body: {
        system: 'parceiros', source_type: 'sftp', object: 'estoque', load_type: 'incremental',
        connection_secret: 'env:LAKE_SECRET_MON_SFTP',
        columns: [{ name: 'sku', type: 'text', key: true }],
        options: {
          host: '127.0.0.1', user: 'parceiro', known_host: '127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
          directory: '/upload', pattern: '*.csv', freshness: { warn_after: '1d', error_after: '2d' },
        },
      },
    })).body;
    const mtime = iso(clock - 3 * 86400_000);
    await lake.sql(`INSERT INTO control.files (source_id, name, size, mtime, sha256, bucket_path)
                    VALUES (${sftp.id}, 'estoque_1.csv', 10, '${mtime}', repeat('a', 64), 'x/estoque_1.csv')`);
    const h = (await source(sftp.id)).health;
    assert.equal(h.state, 'stale');
    assert.equal(new Date(h.newest_file_at).toISOString(), mtime);

    const sched = async (body) => (await srv.call('POST', '/v1/schedules', 201, { body })).body;
    const files = await sched({ name: 'files-daily', task: 'stale_files_check', cron: '0 7 * * *', timezone: 'America/Sao_Paulo' });
    const checks = await sched({ name: 'checks-10min', task: 'monitoring_checks', cron: '*/10 * * * *' });
    assert.equal(files.target_problem ?? null, null);

    // the next 07:00 in São Paulo (UTC-3): stale_files_check fires
    const d = new Date(clock);
    let seven = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 10, 0, 0);
    if (seven <= clock) seven += 86400_000;
    clock = seven;
    writeFileSync(clockFile, `${iso(seven)}\n`);
    const fired = (task, at) => (l) => l.msg === 'schedule fired' && l.task === task && new Date(l.scheduled_at).getTime() === at;
    const line = await srv.waitForLog(fired('stale_files_check', seven), 10_000);
    assert.equal(line.state, 'JOB_STATE_DONE');
    assert.deepEqual(line.report.fired.map((a) => a.dedup_key), [`SourceStale:${sftp.id}`]);
    const runs = (await srv.call('GET', '/v1/schedules/{id}/runs', 200, { params: { id: files.id } })).body.items;
    assert.equal(runs[0].state, 'JOB_STATE_DONE', JSON.stringify(runs[0]));
    const alerts = await firing({ source_id: sftp.id });
    assert.deepEqual(alerts.map((a) => [a.alertname, a.labels.source_type]), [['SourceStale', 'sftp']]);
    assert.match(alerts[0].summary, /parceiros\.estoque: newest file is 3 days \d\d:\d\d:\d\d old \(stale after 2 days\)/);

    // monitoring_checks by its schedule at the 10-minute mark; between marks, no own-period run
    const mark = Math.ceil((clock + 1000) / 600_000) * 600_000;
    const between = mark + 5 * 60_000;
    clock = mark;
    writeFileSync(clockFile, `${iso(mark)}\n`);
    await srv.waitForLog(fired('monitoring_checks', mark), 10_000);
    clock = between;
    writeFileSync(clockFile, `${iso(between)}\n`);
    await sleep(2500);
    assert.equal(srv.logs.filter((l) => l.msg === 'monitoring checks ran' && l.at === iso(between)).length, 0);
    const cruns = (await srv.call('GET', '/v1/schedules/{id}/runs', 200, { params: { id: checks.id } })).body.items;
    assert.equal(new Date(cruns[0].scheduled_at).getTime(), mark); // newest first; none at `between`
    assert.equal(cruns[0].state, 'JOB_STATE_DONE');

    // the file check's alert stays one alert when monitoring_checks sees the same condition
    assert.deepEqual((await firing({ source_id: sftp.id })).map((a) => a.id), [alerts[0].id]);
    // pausing the schedule gives the period back to the server
    await srv.call('PATCH', '/v1/schedules/{id}', 200, { params: { id: checks.id }, body: { active: false }, headers: MERGE });
    await checksAt(between + 60_000);
  });

  test('retention drops old LAND and RAW partitions a partition at a time, never unmerged rows, and old job history', async () => {
    const parts = async (layer, table) => (await lake.sql(
      `SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = '${layer}.${table}'::regclass`)).split(',').filter(Boolean);
    const retentionAt = async (ms) => {
      clock = ms;
      writeFileSync(clockFile, `${iso(ms)}\n`);
      return (await srv.waitForLog((l) => l.msg === 'retention ran' && l.at === iso(ms), 10_000)).report;
    };
    // RAW took every load's LAND partition; LAND keeps one only when RAW had
    // to copy it (a day partition older than RAW by job): made here for each
    assert.deepEqual(await parts('land', 'mon_itens'), []);
    for (const t of ['itens', 'itens_b']) {
      const job = await lake.sql(`SELECT max(j.id) FROM control.jobs j JOIN control.sources s ON s.id = j.source_id
        WHERE s.object = '${t}' AND j.state = 'JOB_STATE_DONE'`);
      await lake.sql(`CREATE TABLE land."j${job}_mon_${t}" PARTITION OF land.mon_${t} FOR VALUES IN (${job})`);
    }
    const land = await parts('land', 'mon_itens');
    const raw = await parts('raw', 'mon_itens');
    const landB = await parts('land', 'mon_itens_b');
    const rawB = await parts('raw', 'mon_itens_b');
    assert.equal(land.length, 1);
    assert.equal(raw.length, 1);
    assert.equal(landB.length, 1);
    // mon.itens_b's rows as if TRUSTED had not merged them yet
    const idB = await lake.sql("SELECT id FROM control.sources WHERE object = 'itens_b'");
    await lake.sql(`UPDATE control.layer_state SET merged_through_job = 0 WHERE source_id = ${idB}`);
    const jobsBefore = Number(await lake.sql('SELECT count(*) FROM control.jobs'));
    const trustedRows = await lake.sql('SELECT count(*) FROM trusted.mon_itens');

    // 8 days on: LAND (7 days by default) goes for the merged source only; RAW (365 days) stays
    const mine = (list) => list.filter((d) => /[._]mon_itens(_b)?(_p\d+)?$/.test(d.partition)).map((d) => [d.layer, d.partition]);
    let report = await retentionAt(Date.now() + 8 * 86400_000);
    assert.deepEqual(mine(report.dropped), [['land', `land.${land[0]}`]]);
    assert.deepEqual(mine(report.kept_unmerged), [['land', `land.${landB[0]}`]]);
    assert.deepEqual(await parts('land', 'mon_itens'), []);
    assert.deepEqual(await parts('raw', 'mon_itens'), raw);
    assert.deepEqual(await parts('land', 'mon_itens_b'), landB);
    assert.equal(report.jobs_deleted, 0);

    // 400 days on: RAW's day goes too, not the unmerged one; jobs older than 90 days go,
    // each source keeping its latest
    report = await retentionAt(Date.now() + 400 * 86400_000);
    assert.deepEqual(mine(report.dropped), [['raw', `raw.${raw[0]}`]]);
    assert.deepEqual(mine(report.kept_unmerged), [['land', `land.${landB[0]}`], ['raw', `raw.${rawB[0]}`]]);
    assert.deepEqual(await parts('raw', 'mon_itens_b'), rawB);
    assert.equal(await lake.sql('SELECT count(*) FROM trusted.mon_itens'), trustedRows);
    const sourcesWithJobs = Number(await lake.sql('SELECT count(DISTINCT source_id) FROM control.jobs'));
    assert.equal(report.jobs_deleted, jobsBefore - sourcesWithJobs);
    assert.equal(Number(await lake.sql('SELECT count(*) FROM control.jobs')), sourcesWithJobs);
    assert.equal(Number(await lake.sql('SELECT count(*) FROM control.job_logs l WHERE NOT EXISTS (SELECT 1 FROM control.jobs j WHERE j.id = l.job_id)')), 0);
    // the lake said so in its own period, and a second run finds nothing more
    report = await retentionAt(Date.now() + 401 * 86400_000);
    assert.deepEqual(report.dropped, []);
  });
});

// --- real time: Alertmanager and a webhook --------------------------------

function receiver(port, { failFirst = 0 } = {}) {
  const got = [];
  let refused = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (refused < failFirst) {
        refused++;
        res.writeHead(500).end('not now');
        return;
      }
      got.push({ path: req.url, body: JSON.parse(body) });
      res.writeHead(200).end('ok');
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, got, refused: () => refused })));
}

describe('delivery to a real Alertmanager and a webhook', { skip: !existsSync(AM_BIN) && `${AM_BIN} is not installed` }, () => {
  let lake;
  let srv;
  let am;
  let hook;
  let amHook;
  let amErr = '';

  const amAlerts = async () => {
    const res = await fetch(`http://127.0.0.1:${AM_PORT}/api/v2/alerts?filter=service%3D%22shopperlake%22`);
    assert.equal(res.status, 200);
    return res.json();
  };

  before(async () => {
    lake = await Lake.create('alertmanager');
    hook = await receiver(HOOK_PORT, { failFirst: 1 });
    amHook = await receiver(AM_HOOK_PORT);
    const conf = path.join(lake.tmp, 'alertmanager.yml');
    writeFileSync(conf, [
      'route:',
      '  receiver: it',
      '  group_by: [alertname, source_id]',
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: it',
      '    webhook_configs:',
      `      - url: http://127.0.0.1:${AM_HOOK_PORT}/notify`,
      '        send_resolved: true',
      '',
    ].join('\n'));
    am = spawn(AM_BIN, [`--config.file=${conf}`, `--storage.path=${path.join(lake.tmp, 'am')}`,
      `--web.listen-address=127.0.0.1:${AM_PORT}`, '--cluster.listen-address=', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    am.stderr.on('data', (d) => (amErr += d));
    await poll(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${AM_PORT}/-/ready`)).status === 200;
      } catch {
        return false;
      }
    }, { timeoutMs: 20_000, what: `alertmanager ready (${amErr})` });
    srv = await lake.startServer({
      env: {
        SHOPPERLAKE_MONITOR_INTERVAL: 1,
        SHOPPERLAKE_ALERTMANAGER_URL: `http://127.0.0.1:${AM_PORT}/`,
        SHOPPERLAKE_ALERT_WEBHOOK_URL: `http://127.0.0.1:${HOOK_PORT}/lake`,
        SHOPPERLAKE_ALERT_RESEND: 1,
      },
    });
  });

  after(async () => {
    await lake?.close();
    if (am && am.exitCode === null) {
      am.kill('SIGTERM');
      await new Promise((r) => am.on('close', r));
    }
    hook?.server.close();
    amHook?.server.close();
  });

  test('an alert reaches Alertmanager once, is re-sent while firing, and is resolved there; the webhook gets each state once, after a retry', async () => {
    const s = (await srv.call('POST', '/v1/sources', 201, {
      body: itensDef('itens_c', { connection_secret: 'env:LAKE_SECRET_MON_URL', options: { freshness: { warn_after: '1s', error_after: '1h' } } }),
    })).body;
    // fires within a few seconds of the source's creation
    const alert = await poll(async () => (await srv.call('GET', '/v1/alerts', 200, { query: { state: 'firing', source_id: s.id } })).body.items[0],
      { timeoutMs: 15_000, what: 'the SourceLate alert' });
    assert.equal(alert.alertname, 'SourceLate');

    const inAm = await poll(async () => {
      const list = await amAlerts();
      return list.length ? list : null;
    }, { timeoutMs: 15_000, what: 'the alert in Alertmanager' });
    assert.equal(inAm.length, 1);
    assert.equal(inAm[0].labels.alertname, 'SourceLate');
    assert.equal(inAm[0].labels.source_id, String(s.id));
    assert.equal(inAm[0].labels.severity, 'warning');
    assert.equal(inAm[0].status.state, 'active');
    assert.equal(inAm[0].annotations.summary, alert.summary.replace(/\d\d:\d\d:\d\d old/, inAm[0].annotations.summary.match(/\d\d:\d\d:\d\d old/)?.[0] ?? ''));
    assert.equal(new Date(inAm[0].startsAt).getTime(), new Date(alert.started_at).getTime());
    const firstEnds = new Date(inAm[0].endsAt).getTime();
    const AMTOOL = '/usr/bin/amtool';
    if (existsSync(AMTOOL)) { // what an operator sees with Debian's amtool
      const q = await runTool(AMTOOL, ['alert', 'query', `--alertmanager.url=http://127.0.0.1:${AM_PORT}`, '-o', 'json', 'service=shopperlake']);
      assert.equal(q.code, 0, q.out);
      assert.deepEqual(JSON.parse(q.out).map((a) => a.labels.alertname), ['SourceLate']);
    }

    // re-sent while firing: endsAt moves on, still one alert, one notification
    await poll(async () => new Date((await amAlerts())[0]?.endsAt ?? 0).getTime() > firstEnds, { timeoutMs: 10_000, what: 'a re-send' });
    await poll(async () => amHook.got.length >= 1, { timeoutMs: 15_000, what: 'the Alertmanager notification' });
    await sleep(3000);
    assert.equal((await amAlerts()).length, 1);
    const firingNotes = amHook.got.filter((g) => g.body.status === 'firing');
    assert.equal(firingNotes.length, 1, JSON.stringify(amHook.got));
    assert.equal(firingNotes[0].body.alerts[0].labels.source_id, String(s.id));

    // the generic webhook: refused once, retried, then got it once
    await poll(async () => hook.got.length >= 1, { timeoutMs: 15_000, what: 'the webhook post' });
    assert.equal(hook.refused(), 1);
    assert.equal(hook.got.length, 1);
    assert.equal(hook.got[0].path, '/lake');
    assert.equal(hook.got[0].body.version, '4');
    assert.equal(hook.got[0].body.status, 'firing');
    assert.equal(hook.got[0].body.alerts[0].labels.alertname, 'SourceLate');

    // the SLA relaxed: resolved in the lake, in Alertmanager, at the webhook
    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id: s.id }, body: { options: { freshness: { warn_after: '1h' } } }, headers: MERGE });
    const resolved = await poll(async () => {
      const a = (await srv.call('GET', '/v1/alerts/{id}', 200, { params: { id: alert.id } })).body;
      return a.state === 'resolved' && a.delivery.alertmanager.sent_state === 'resolved' && a.delivery.webhook.sent_state === 'resolved' ? a : null;
    }, { timeoutMs: 20_000, what: 'the alert resolved and delivered' });
    assert.equal(resolved.delivery.webhook.failed_attempts, 0);
    await poll(async () => (await amAlerts()).every((a) => a.status.state !== 'active'), { timeoutMs: 10_000, what: 'resolved in Alertmanager' });
    await poll(async () => amHook.got.some((g) => g.body.status === 'resolved'), { timeoutMs: 15_000, what: 'the resolved notification' });
    await poll(async () => hook.got.length >= 2, { timeoutMs: 10_000, what: 'the resolved webhook post' });
    assert.equal(hook.got[1].body.status, 'resolved');
    assert.ok(new Date(hook.got[1].body.alerts[0].endsAt) >= new Date(hook.got[1].body.alerts[0].startsAt));
    await sleep(2000);
    assert.equal(hook.got.length, 2);
    assert.equal(amHook.got.filter((g) => g.body.status === 'firing').length, 1);
  });
});

// --- /metrics, checked by promtool and scraped by a real Prometheus ---------

const PROM_BIN = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const PROM_PORT = 19090;

function runTool(bin, args, input) {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(input ?? '');
  });
}

function sample(text, name, labels = {}) {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics', { skip: !(existsSync(PROM_BIN) && existsSync(PROMTOOL)) && 'prometheus is not installed' }, () => {
  let lake;
  let src;
  let srv;
  let prom;
  let promErr = '';

  before(async () => {
    lake = await Lake.create('metrics');
    src = await makeSourceDb('metrics');
    srv = await lake.startServer({ env: { SHOPPERLAKE_WORKERS: 1, SHOPPERLAKE_MONITOR_INTERVAL: 0, LAKE_SECRET_MON_URL: src.url } });
  });

  after(async () => {
    if (prom && prom.exitCode === null) {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.on('close', r));
    }
    await lake?.close();
    await src?.drop();
  });

  test('needs a token; the text is clean under promtool and says what the lake did', async () => {
    await srv.call('GET', '/metrics', 401, { token: null });
    const s = (await srv.call('POST', '/v1/sources', 201, { body: itensDef('itens', { options: { freshness: { warn_after: '1h' } } }) })).body;
    await runLoad(srv, s.id, 'full');
    await srv.call('GET', '/v1/jobs/{id}', 404, { params: { id: 999999 } });
    const res = await srv.call('GET', '/metrics', 200, { token: 'reader' });
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = res.text;
    const check = await runTool(PROMTOOL, ['check', 'metrics'], text);
    assert.equal(check.code, 0, check.out);
    assert.equal(check.out.trim(), '', `promtool: ${check.out}`);

    assert.equal(sample(text, 'shopperlake_lake_up'), 1);
    assert.equal(sample(text, 'shopperlake_source_rows_loaded_total', { source: 'mon.itens' }), 20);
    assert.equal(sample(text, 'shopperlake_source_rows_quarantined_total', { source: 'mon.itens' }), 0);
    assert.equal(sample(text, 'shopperlake_source_health', { source: 'mon.itens', state: 'fresh' }), 1);
    assert.equal(sample(text, 'shopperlake_source_health', { source: 'mon.itens', state: 'stale' }), 0);
    assert.equal(sample(text, 'shopperlake_jobs', { state: 'JOB_STATE_DONE', source_type: 'postgresql' }), 1);
    assert.equal(sample(text, 'shopperlake_job_duration_seconds_count', { source_type: 'postgresql' }), 1);
    assert.equal(sample(text, 'shopperlake_job_duration_seconds_bucket', { source_type: 'postgresql', le: '+Inf' }), 1);
    assert.equal(sample(text, 'shopperlake_queue_depth'), 0);
    assert.ok(sample(text, 'shopperlake_source_age_seconds', { source: 'mon.itens' }) >= 0);
    assert.ok(sample(text, 'shopperlake_lake_database_bytes') > 1e6);
    const tables = text.split('\n').filter((l) => l.startsWith('shopperlake_lake_table_bytes{'));
    assert.ok(tables.length >= 1 && tables.length <= 10, tables.join('\n'));
    assert.ok(tables.every((l) => Number(l.slice(l.lastIndexOf(' ') + 1)) > 0));
    assert.ok(!tables.some((l) => /table="mon_itens_p\d+"/.test(l)), 'partitions count in their table, not alone');
    // this server's requests, by route pattern (never an id) and status
    assert.equal(sample(text, 'shopperlake_http_requests_total', { method: 'GET', route: '/v1/jobs/{id}', status: '404' }), 1);
    assert.equal(sample(text, 'shopperlake_http_requests_total', { method: 'POST', route: '/v1/sources', status: '201' }), 1);
    assert.equal(sample(text, 'shopperlake_http_requests_total', { method: 'GET', route: '/metrics', status: '401' }), 1);
    assert.ok(!/route="\/v1\/jobs\/999999"/.test(text));
    assert.equal(sample(text, 'shopperlake_http_request_duration_seconds_count', { route: '/v1/jobs/{id}', status: '404' }), 1);
    assert.ok(sample(text, 'shopperlake_db_pool_size') >= 1);
  });

  test('a real Prometheus scrapes it with a token and loads the example rules', async () => {
    const dir = path.join(lake.tmp, 'prom');
    const token = path.join(lake.tmp, 'prom.token');
    writeFileSync(token, `${READER}\n`);
    const conf = path.join(lake.tmp, 'prometheus.yml');
    writeFileSync(conf, [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      `rule_files: ['${path.join(ROOT_DIR, 'docs/monitoring/alerts.yml')}']`,
      'scrape_configs:',
      '  - job_name: shopperlake',
      '    authorization:',
      '      type: Bearer',
      `      credentials_file: ${token}`,
      `    static_configs: [{targets: ['127.0.0.1:${srv.port}']}]`,
      '',
    ].join('\n'));
    const rules = await runTool(PROMTOOL, ['check', 'config', conf]);
    assert.equal(rules.code, 0, rules.out);
    prom = spawn(PROM_BIN, [`--config.file=${conf}`, `--storage.tsdb.path=${dir}`, `--web.listen-address=127.0.0.1:${PROM_PORT}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr.on('data', (d) => (promErr += d));
    const q = async (expr) => {
      try {
        const res = await fetch(`http://127.0.0.1:${PROM_PORT}/api/v1/query?query=${encodeURIComponent(expr)}`);
        if (res.status !== 200) return null;
        const r = (await res.json()).data.result;
        return r.length ? r : null;
      } catch {
        return null;
      }
    };
    const up = await poll(() => q('up{job="shopperlake"} == 1'), { timeoutMs: 30_000, what: `a successful scrape (${promErr})` });
    assert.equal(up.length, 1);
    const rows = await poll(() => q('shopperlake_source_rows_loaded_total{source="mon.itens"}'), { timeoutMs: 15_000, what: 'rows loaded in Prometheus' });
    assert.equal(rows[0].value[1], '20');
    const rulesRes = await (await fetch(`http://127.0.0.1:${PROM_PORT}/api/v1/rules`)).json();
    const names = rulesRes.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    assert.ok(names.includes('ShopperLakeSourceStale'), names.join(','));
    assert.ok(rulesRes.data.groups.every((g) => g.rules.every((r) => r.health !== 'err')), JSON.stringify(rulesRes.data.groups));
  });
});
