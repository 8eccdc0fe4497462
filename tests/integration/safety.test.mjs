// Data safety and hostile input (issue 16): secret references and what job
// errors may say, lake table names two sources would share, numbers beyond
// 64 bits, accepted_values, hostile bytes in paths, headers and LIKE
// patterns, oversized requests, idle sockets, a lake restart, and the
// warnings of watermark mode. Each test reproduced its defect first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import { ADMIN_TOKEN, Lake, ROOT, sleep } from './lib/harness.mjs';
import { waitJob } from './lib/marketplace.mjs';
import { assertProblem } from './lib/spec.mjs';

const execFileP = promisify(execFile);
const LIST = '/v1/sources';
const ONE = '/v1/sources/{id}';
const MERGE = { 'content-type': 'application/merge-patch+json' };
const CANARY = 'Canary7q';

let lake;
let srv;
let secretsDir;
let seq = 0;

function pgSource(over = {}) {
  return {
    system: 'safety',
    source_type: 'postgresql',
    database: 'db',
    object: `t${++seq}`,
    connection_secret: 'env:LAKE_SECRET_SAFETY_URL',
    columns: [{ name: 'id', type: 'bigint', key: true }, { name: 'v', type: 'text' }],
    load_type: 'full',
    ...over,
  };
}

before(async () => {
  lake = await Lake.create('safety');
  secretsDir = path.join(lake.tmp, 'secrets');
  mkdirSync(secretsDir);
  writeFileSync(path.join(secretsDir, 'url'), 'postgresql:///nowhere?host=/nonexistent\n');
  symlinkSync('/etc/passwd', path.join(secretsDir, 'escape'));
  srv = await lake.startServer({
    env: {
      SHOPPERLAKE_WORKERS: '1',
      SHOPPERLAKE_JOB_MAX_ATTEMPTS: '1',
      SHOPPERLAKE_SECRETS_DIR: secretsDir,
      LAKE_SECRET_SAFETY_URL: 'postgresql:///nowhere?host=/nonexistent',
      LAKE_SECRET_BAD_URI: `postgresql://u:${CANARY}%ZZpw@127.0.0.1:1/db`,
      LAKE_SECRET_PLAIN: `${CANARY}-not-a-connection-string`,
    },
  });
});

after(async () => {
  await lake?.close();
});

async function expectInvalid(method, template, body, field, params = {}, headers = {}) {
  const res = await srv.request(method, template.replace('{id}', params.id ?? ''), { body, headers });
  assertProblem(422, res);
  assert.equal(res.body.field, field, JSON.stringify(res.body));
  return res.body;
}

describe('item 2: secret references and job errors', () => {
  test('references to the server\'s own variables, other variables and files outside the secrets directory are refused', async () => {
    for (const ref of ['env:SHOPPERLAKE_ADMIN_TOKEN', 'env:SHOPPERLAKE_DATABASE_URL', 'env:PATH', 'env:HOME',
      'file:/etc/shadow', 'file:/proc/self/environ', `file:${secretsDir}/../../etc/passwd`,
      `file:${secretsDir}/./url`, `file:${secretsDir}`]) {
      const p = await expectInvalid('POST', LIST, pgSource({ connection_secret: ref }), 'connection_secret');
      assert.doesNotMatch(p.detail, new RegExp(ADMIN_TOKEN));
    }
    const ok1 = await srv.call('POST', LIST, 201, { body: pgSource() });
    await srv.call('POST', LIST, 201, { body: pgSource({ connection_secret: `file:${secretsDir}/url` }) });
    await expectInvalid('PATCH', ONE, { connection_secret: 'env:SHOPPERLAKE_ADMIN_TOKEN' }, 'connection_secret',
      { id: ok1.body.id }, MERGE);
    // sftp secrets follow the same rule
    const sftp = {
      system: 'safety', source_type: 'sftp', object: `s${++seq}`, load_type: 'full',
      columns: [{ name: 'sku', type: 'text', key: true }],
      connection_secret: 'env:LAKE_SECRET_SFTP',
      options: { host: 'h.example', user: 'u', directory: '/d', known_host: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq2hW6Q9mnMqM5sX2cQk7u0oRzV1eEJmV6bYwqGf0T1',
        password_secret: 'env:SHOPPERLAKE_ADMIN_TOKEN' },
    };
    const p = await expectInvalid('POST', LIST, sftp, 'options.password_secret');
    assert.match(p.detail, /LAKE_SECRET_/);
  });

  async function failedJobError(connectionSecret) {
    const src = await srv.call('POST', LIST, 201, { body: pgSource({ connection_secret: connectionSecret }) });
    const job = await srv.call('POST', '/v1/sources/{id}/loads', 202, { params: { id: src.body.id }, body: { load_type: 'full' } });
    const done = await waitJob(srv, job.body.id, { timeoutMs: 30_000 });
    assert.equal(done.state, 'JOB_STATE_FAILED', JSON.stringify(done));
    return done;
  }

  test('libpq text that quotes the secret never reaches the job error or the log', async () => {
    for (const ref of ['env:LAKE_SECRET_BAD_URI', 'env:LAKE_SECRET_PLAIN']) {
      const done = await failedJobError(ref);
      const text = JSON.stringify(done);
      assert.doesNotMatch(text, new RegExp(CANARY), `job error quotes the secret: ${text}`);
      assert.match(done.error, /cannot connect to the source/, text);
    }
    assert.doesNotMatch(srv.stderr, new RegExp(CANARY), 'the log quotes the secret');
  });

  test('a stored reference that breaks the rule is refused again when the job reads it', async () => {
    const src = await srv.call('POST', LIST, 201, { body: pgSource() });
    for (const ref of ['env:SHOPPERLAKE_ADMIN_TOKEN', `file:${secretsDir}/escape`, 'file:/proc/self/environ']) {
      await lake.sql(`UPDATE control.sources SET connection_secret = '${ref}' WHERE id = ${src.body.id}`);
      const job = await srv.call('POST', '/v1/sources/{id}/loads', 202, { params: { id: src.body.id }, body: { load_type: 'full' } });
      const done = await waitJob(srv, job.body.id, { timeoutMs: 30_000 });
      assert.equal(done.state, 'JOB_STATE_FAILED');
      assert.match(done.error, /connection_secret/, JSON.stringify(done));
      assert.match(done.error, /not allowed|outside/, JSON.stringify(done));
      assert.doesNotMatch(JSON.stringify(done), new RegExp(ADMIN_TOKEN));
      assert.doesNotMatch(JSON.stringify(done), /root:/);
    }
    assert.doesNotMatch(srv.stderr, new RegExp(ADMIN_TOKEN));
  });
});

describe('item 3: one lake table per source', () => {
  test('(mk_lojas, x1) and (mk, lojas_x1) would share mk_lojas_x1: 409 naming the other source', async () => {
    const a = await srv.call('POST', LIST, 201, { body: pgSource({ system: 'mk_lojas', object: 'x1' }) });
    const res = await srv.call('POST', LIST, 409, { body: pgSource({ system: 'mk', object: 'lojas_x1' }) });
    assert.match(res.body.detail, /mk_lojas_x1/);
    assert.match(res.body.detail, new RegExp(`source ${a.body.id}\\b`));
    const b = await srv.call('POST', LIST, 201, { body: pgSource({ system: 'mk', object: 'lojas_x2' }) });
    const p = await srv.request('PATCH', `/v1/sources/${b.body.id}`, { body: { object: 'lojas_x1' }, headers: MERGE });
    assertProblem(409, p);
    assert.match(p.body.detail, new RegExp(`source ${a.body.id}\\b`));
  });

  test('quarantine, rejects and child tables count too, both ways', async () => {
    const api = {
      system: 'rs', source_type: 'api', object: 'posts', load_type: 'full',
      columns: [{ name: 'id', type: 'text', key: true }],
      options: { base_url: 'http://127.0.0.1:8090', children: [{ name: 'mentions', path: 'mentions' }] },
    };
    const a = await srv.call('POST', LIST, 201, { body: api });
    for (const object of ['posts_mentions', 'posts_quarantine']) {
      const res = await srv.call('POST', LIST, 409, { body: pgSource({ system: 'rs', object }) });
      assert.equal(res.body.conflicting_source_id, a.body.id);
      assert.match(res.body.detail, new RegExp(`rs_${object}`));
    }
    await srv.call('POST', LIST, 201, { body: pgSource({ system: 'rs', object: 'posts_rejects' }) }); // not an sftp source
    const b = await srv.call('POST', LIST, 201, { body: pgSource({ system: 'q', object: 'a_b' }) });
    const child = await srv.call('POST', LIST, 409, { body: { ...api, system: 'q', object: 'a', options: { ...api.options, children: [{ name: 'b', path: 'b' }] } } });
    assert.equal(child.body.conflicting_source_id, b.body.id);
  });
});

describe('item 5: numbers beyond 64 bits', () => {
  test('are refused at the door, naming the field', async () => {
    // JSON.stringify writes 1e20 as digits; the exponent form is what jansson reads as a real
    for (const [options, field] of [['{"x": 1e20}', 'options.x'], ['{"a": {"b": [1, -1E19]}}', 'options.a.b[1]'], ['{"y": 1.5e300}', 'options.y']]) {
      const text = JSON.stringify(pgSource({ options: 'OPTS' })).replace('"OPTS"', options);
      const res = await srv.request('POST', LIST, { rawBody: text, headers: { 'content-type': 'application/json' } });
      assertProblem(422, res);
      assert.equal(res.body.field, field);
    }
    const big = '{"system":"safety","source_type":"postgresql","database":"db","object":"big1","connection_secret":"env:LAKE_SECRET_SAFETY_URL","columns":[{"name":"id","type":"bigint","key":true}],"load_type":"full","options":{"x":123456789012345678901234567890}}';
    const res = await srv.request('POST', LIST, { rawBody: big, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400, res.text);
    await srv.call('POST', LIST, 201, { body: pgSource({ options: { fine: 1.5, n: 9007199254740993 } }) });
  });

  test('a stored row with such a number is never answered 503', async () => {
    const src = await srv.call('POST', LIST, 201, { body: pgSource() });
    await lake.sql(`UPDATE control.sources SET options = '{"x": 1e20}' WHERE id = ${src.body.id}`);
    const got = await srv.request('GET', `/v1/sources/${src.body.id}`);
    assert.notEqual(got.status, 503, got.text);
    assertProblem(500, got);
    assert.match(got.body.detail, /cannot be read/);
    const list = await srv.request('GET', LIST);
    assert.notEqual(list.status, 503, list.text);
    await lake.sql(`DELETE FROM control.sources WHERE id = ${src.body.id}`);
  });
});

describe('item 7: accepted_values', () => {
  test('only strings: null, objects and numbers are refused', async () => {
    for (const bad of [null, {}, 1, true, []]) {
      const body = pgSource({ options: { checks: [{ check: 'accepted_values', column: 'v', values: ['a', bad] }] } });
      const p = await expectInvalid('POST', LIST, body, 'options.checks[0].values[1]');
      assert.match(p.detail, /string/);
    }
    await srv.call('POST', LIST, 201, { body: pgSource({ options: { checks: [{ check: 'accepted_values', column: 'v', values: ['a', 'b'] }] } }) });
  });
});

describe('item 8: hostile bytes answer 400 naming the field', () => {
  test('invalid UTF-8 in a pipeline name', async () => {
    for (const [method, p] of [['GET', '/v1/pipelines/%FF%FE_postgresql_full/runs'], ['POST', '/v1/pipelines/%C3%28_postgresql_full/runs'],
      ['GET', '/v1/pipelines/x%FF_api_full/runs/1']]) {
      const res = await srv.request(method, p, { token: method === 'GET' ? 'reader' : 'admin' });
      assertProblem(400, res);
      assert.equal(res.body.field, 'name');
    }
  });

  test('a LIKE pattern ending in an escape character, whatever the data', async () => {
    await srv.call('POST', LIST, 201, { body: pgSource({ system: 'likes', object: 'l1' }) });
    await lake.sql('CREATE TABLE trusted.likes_l1 (id bigint PRIMARY KEY, v text); INSERT INTO trusted.likes_l1 VALUES (1, \'a\'), (2, \'b\\\\\'); GRANT SELECT ON trusted.likes_l1 TO lake_reader');
    for (const q of ['v=like.%5C', 'v=like.a%5C', 'v=ilike.*%5C', 'v=like.%5C%5C%5C']) {
      const res = await srv.request('GET', `/v1/tables/trusted/likes_l1?${q}`, { token: 'reader' });
      assertProblem(400, res);
      assert.equal(res.body.field, 'v');
    }
    const ok = await srv.request('GET', '/v1/tables/trusted/likes_l1?v=like.*%5C%5C', { token: 'reader' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.items.length, 1);
  });

  test('a non-UTF-8 Idempotency-Key', async () => {
    const src = await srv.call('POST', LIST, 201, { body: pgSource({ active: false }) });
    const body = '{"load_type":"full"}';
    const head = Buffer.concat([
      Buffer.from(`POST /v1/sources/${src.body.id}/loads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\nIdempotency-Key: k`),
      Buffer.from([0xff, 0xfe]), Buffer.from('\r\n\r\n'), Buffer.from(body)]);
    const res = await srv.raw(head);
    assertProblem(400, res);
    assert.equal(res.body.field, 'Idempotency-Key');
  });
});

describe('item 9: oversized URLs and headers', () => {
  test('answer problem+json, not text/html', async () => {
    const longUrl = `/v1/sources?system=${'a'.repeat(20_000)}`;
    const r1 = await srv.raw(`GET ${longUrl} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assertProblem(414, r1);
    const r2 = await srv.raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(40_000)}\r\nConnection: close\r\n\r\n`);
    assertProblem(431, r2);
    const r3 = await srv.raw(`GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'c'.repeat(60)}\r\n`).join('')}Connection: close\r\n\r\n`);
    assertProblem(431, r3);
    const r4 = await srv.raw(`GET /v1/sources/${'9'.repeat(120_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assertProblem(414, r4);
  });
});

describe('item 10: watermark mode says its limits', () => {
  test('a watermark source is answered with warnings; others without', async () => {
    const body = pgSource({ load_type: 'incremental', offset_mode: 'watermark', offset_column: 'id' });
    const res = await srv.call('POST', LIST, 201, { body });
    assert.ok(Array.isArray(res.body.warnings) && res.body.warnings.length >= 1, res.text);
    assert.match(res.body.warnings.join(' '), /commit late/);
    assert.match(res.body.warnings.join(' '), /delete/);
    const patched = await srv.call('PATCH', ONE, 200, { params: { id: res.body.id }, body: { max_parallel_tasks: 2 }, headers: MERGE });
    assert.ok(patched.body.warnings.length >= 1);
    const get = await srv.call('GET', ONE, 200, { params: { id: res.body.id } });
    assert.equal(get.body.warnings, undefined);
    const ct = await srv.call('POST', LIST, 201, { body: pgSource({ load_type: 'incremental' }) });
    assert.equal(ct.body.warnings, undefined);
  });
});

describe('item 11: idle unauthenticated sockets', () => {
  test('300 idle sockets do not stall /healthz for more than 2 s', async () => {
    const socks = [];
    await Promise.all(Array.from({ length: 300 }, () => new Promise((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1');
      s.on('error', () => {});
      s.on('connect', resolve);
      s.on('close', resolve);
      socks.push(s);
    })));
    const t0 = Date.now();
    let res;
    while (Date.now() - t0 < 5_000) {
      // a new connection (fetch would reuse a kept-alive one)
      res = await srv.raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 5_000 }).catch(() => null);
      if (res?.status === 200) break;
      await sleep(50);
    }
    const took = Date.now() - t0;
    for (const s of socks) s.destroy();
    assert.equal(res?.status, 200);
    assert.ok(took <= 2_000, `/healthz took ${took} ms with 300 idle sockets open`);
  });
});

describe('item 11: SHOPPERLAKE_MAX_CONNECTIONS_PER_IP', () => {
  test('one address holds at most that many connections; idle ones are closed after the header timeout', async () => {
    const small = await lake.startServer({ env: { SHOPPERLAKE_MAX_CONNECTIONS_PER_IP: '3' } });
    const socks = await Promise.all(Array.from({ length: 3 }, () => new Promise((resolve) => {
      const s = net.connect(small.port, '127.0.0.1', () => resolve(s));
      s.on('error', () => {});
    })));
    await sleep(200);
    const refused = await small.raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 900 }).catch((e) => e);
    assert.ok(refused instanceof Error, `a 4th connection was served: ${JSON.stringify(refused?.status)}`);
    const closed = await Promise.all(socks.map((s) => new Promise((resolve) => {
      if (s.destroyed) resolve(true);
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 4_000);
    })));
    assert.deepEqual(closed, [true, true, true], 'the idle sockets were closed by the server');
    // the server counts a closed connection out once its thread has ended:
    // on a busy machine that may trail the close by a moment
    let ok;
    for (let i = 0; i < 20 && !(ok?.status === 200); i++) {
      if (i) await sleep(100);
      ok = await small.raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').catch((e) => e);
    }
    assert.equal(ok.status, 200, `a connection after the idle ones closed: ${ok}`);
    await small.stop();
  });
});

describe('item 14: a lake restart', () => {
  test('no 503 once the lake is back', async () => {
    // fill the pool with several connections
    await Promise.all(Array.from({ length: 12 }, () => srv.call('GET', LIST, 200, { token: 'reader' })));
    const { dir, port } = lake.cluster;
    await execFileP('bash', [path.join(ROOT, 'scripts/pg'), 'stop', dir], { cwd: ROOT, timeout: 60_000 });
    await execFileP('bash', [path.join(ROOT, 'scripts/pg'), 'start', dir, port], { cwd: ROOT, timeout: 120_000 });
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await srv.request('GET', LIST, { token: 'reader' })).status);
    assert.deepEqual(statuses, Array(20).fill(200));
    await Promise.all(Array.from({ length: 12 }, () => srv.call('GET', LIST, 200, { token: 'reader' })));
  });
});
