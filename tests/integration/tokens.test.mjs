// Named API tokens (issue 16): made, listed and revoked by an admin, stored
// as a SHA-256 hash, the secret shown once; each role enforced; every
// request log line names the token, never its secret; the environment's
// tokens are bootstrap-admin and bootstrap-reader.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { ADMIN_TOKEN, Lake, READER_TOKEN } from './lib/harness.mjs';
import { assertProblem } from './lib/spec.mjs';

const TOKENS = '/v1/tokens';
const TOKEN = '/v1/tokens/{id}';

let lake;
let srv;
let seq = 0;

before(async () => {
  lake = await Lake.create('tokens');
  srv = await lake.startServer();
});

after(async () => {
  await lake?.close();
});

async function make(role, name = `tok-${role}-${++seq}`) {
  const res = await srv.call('POST', TOKENS, 201, { body: { name, role } });
  return res.body;
}

async function waitLogged(res) {
  const id = res.headers.get('x-request-id');
  return srv.waitForLog((l) => l.msg === 'request' && l.request_id === id);
}

describe('POST /v1/tokens', () => {
  test('answers the secret once; the lake keeps only its SHA-256', async () => {
    const t = await make('reader', 'dataviz');
    assert.match(t.token, /^slk_[A-Za-z0-9_-]{43}$/);
    assert.equal(t.name, 'dataviz');
    assert.equal(t.role, 'reader');
    assert.equal(t.created_by, 'bootstrap-admin');
    assert.equal(t.revoked_at, null);
    const rows = await lake.sql(`SELECT row_to_json(t) FROM control.api_tokens t WHERE id = ${t.id}`);
    assert.ok(!rows.includes(t.token), 'the secret is stored');
    assert.ok(rows.includes(createHash('sha256').update(t.token).digest('hex')), 'the hash is stored');
    const list = await srv.call('GET', TOKENS, 200);
    const listed = list.body.items.find((x) => x.id === t.id);
    assert.equal(listed.token, undefined);
    assert.ok(!list.text.includes(t.token));
    const a = await make('admin');
    const b = await make('admin');
    assert.notEqual(a.token, b.token);
  });

  test('names are unique among live tokens; bootstrap-* names and unknown roles are refused', async () => {
    await make('reader', 'twin');
    const dup = await srv.call('POST', TOKENS, 409, { body: { name: 'twin', role: 'admin' } });
    assert.equal(dup.body.field, 'name');
    for (const [body, field] of [
      [{ name: 'bootstrap-admin', role: 'admin' }, 'name'],
      [{ name: 'bootstrap-x', role: 'reader' }, 'name'],
      [{ name: '', role: 'reader' }, 'name'],
      [{ name: 'has space', role: 'reader' }, 'name'],
      [{ name: 'x'.repeat(65), role: 'reader' }, 'name'],
      [{ name: 'ok', role: 'root' }, 'role'],
      [{ name: 'ok' }, 'role'],
      [{ name: 'ok', role: 'reader', secret: 'mine' }, 'secret'],
    ]) {
      const res = await srv.call('POST', TOKENS, 422, { body });
      assert.equal(res.body.field, field, JSON.stringify(body));
    }
  });
});

describe('roles', () => {
  test('a reader token reads and may not run loads nor make tokens', async () => {
    const t = await make('reader');
    await srv.call('GET', '/v1/sources', 200, { token: t.token });
    const res = await srv.call('POST', '/v1/pipelines/{name}/runs', 403, { params: { name: 'x_postgresql_full' }, token: t.token });
    assert.match(res.body.detail, new RegExp(`${t.name} has the role reader`));
    await srv.call('POST', TOKENS, 403, { body: { name: 'x', role: 'admin' }, token: t.token });
    await srv.call('GET', TOKENS, 403, { token: t.token });
  });

  test('an operator runs and cancels loads but may not change sources or tokens', async () => {
    const t = await make('operator');
    const src = await srv.call('POST', '/v1/sources', 201, {
      body: {
        system: 'tok', source_type: 'postgresql', database: 'db', object: 'o1', load_type: 'full',
        connection_secret: 'env:LAKE_SECRET_TOK', columns: [{ name: 'id', type: 'bigint', key: true }],
      },
    });
    const job = await srv.call('POST', '/v1/sources/{id}/loads', 202, { params: { id: src.body.id }, body: { load_type: 'full' }, token: t.token });
    await srv.call('POST', '/v1/jobs/{id}/cancel', 202, { params: { id: job.body.id }, token: t.token });
    await srv.call('PATCH', '/v1/sources/{id}', 403, {
      params: { id: src.body.id }, body: { active: false }, token: t.token, headers: { 'content-type': 'application/merge-patch+json' },
    });
    await srv.call('DELETE', TOKEN, 403, { params: { id: 1 }, token: t.token });
  });

  test('an admin token made over the API may make and revoke tokens', async () => {
    const a = await make('admin');
    const res = await srv.call('POST', TOKENS, 201, { body: { name: `by-${a.name}`, role: 'reader' }, token: a.token });
    assert.equal(res.body.created_by, a.name);
    await srv.call('DELETE', TOKEN, 204, { params: { id: res.body.id }, token: a.token });
  });
});

describe('DELETE /v1/tokens/{id}', () => {
  test('a revoked token is 401 at once and stays listed; its name may be given again', async () => {
    const t = await make('reader', 'leaving');
    await srv.call('GET', '/v1/jobs', 200, { token: t.token });
    await srv.call('DELETE', TOKEN, 204, { params: { id: t.id } });
    const res = await srv.call('GET', '/v1/jobs', 401, { token: t.token });
    assert.match(res.body.detail, /not valid/);
    await srv.call('DELETE', TOKEN, 204, { params: { id: t.id } });
    const list = await srv.call('GET', TOKENS, 200, { query: { limit: 500 } });
    const gone = list.body.items.find((x) => x.id === t.id);
    assert.ok(gone.revoked_at);
    assert.equal(gone.revoked_by, 'bootstrap-admin');
    const again = await make('reader', 'leaving');
    await srv.call('GET', '/v1/jobs', 200, { token: again.token });
    await srv.call('DELETE', TOKEN, 404, { params: { id: 999999 } });
  });

  test('a look-alike of a token is 401', async () => {
    const t = await make('admin');
    for (const wrong of [t.token.slice(0, -1), `${t.token}x`, `${t.token.slice(0, -1)}${t.token.at(-1) === 'A' ? 'B' : 'A'}`]) {
      await srv.call('GET', '/v1/sources', 401, { token: wrong });
    }
  });
});

describe('the log names the token, never its secret', () => {
  test('bootstrap tokens, named tokens, and none', async () => {
    const t = await make('operator', 'logged-op');
    const cases = [[ADMIN_TOKEN, 'bootstrap-admin'], [READER_TOKEN, 'bootstrap-reader'], [t.token, 'logged-op']];
    for (const [token, name] of cases) {
      const res = await srv.request('GET', '/v1/jobs', { token });
      assert.equal(res.status, 200);
      const line = await waitLogged(res);
      assert.equal(line.token, name);
    }
    const pub = await srv.request('GET', '/healthz', { token: null });
    const line = await waitLogged(pub);
    assert.equal(line.token, undefined);
    const bad = await srv.request('GET', '/v1/jobs', { token: 'slk_not-a-real-token-at-all-0123456789abcdef' });
    assertProblem(401, bad);
    assert.equal((await waitLogged(bad)).token, undefined);
    for (const secret of [ADMIN_TOKEN, READER_TOKEN, t.token]) assert.ok(!srv.stderr.includes(secret), 'a secret in the log');
  });
});
