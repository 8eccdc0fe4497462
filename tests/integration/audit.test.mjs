// The audit log (GET /v1/audit) against the real server: changes to
// sources, schedules and tokens over the API are events with before, after,
// when, the token's name and the request id; a job's own bookkeeping is
// not an event but the same change over the API is; a change made in SQL
// names the database user; the layer and report SQL files are compared at
// every start (a copy of the tree, changed between two starts).
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Lake, ROOT } from './lib/harness.mjs';

const MERGE = { 'content-type': 'application/merge-patch+json' };

function def(object, over = {}) {
  return {
    system: 'aud',
    source_type: 'postgresql',
    database: 'loja',
    object,
    load_type: 'full',
    connection_secret: 'env:LAKE_SECRET_AUDIT_URL',
    columns: [{ name: 'id', type: 'bigint', key: true }],
    ...over,
  };
}

describe('audit', () => {
  let lake;
  let srv;
  let home;
  let token; // a named admin token's secret

  const events = async (query = {}, tok = 'admin') =>
    (await srv.call('GET', '/v1/audit', 200, { query: { limit: 500, ...query }, token: tok })).body.items;

  before(async () => {
    lake = await Lake.create('audit');
    home = path.join(lake.tmp, 'home');
    cpSync(path.join(ROOT, 'sql'), path.join(home, 'sql'), { recursive: true });
    cpSync(path.join(ROOT, 'openapi'), path.join(home, 'openapi'), { recursive: true });
    srv = await lake.startServer({ env: { SHOPPERLAKE_HOME: home } });
    token = (await srv.call('POST', '/v1/tokens', 201, { body: { name: 'auditor', role: 'admin' } })).body.token;
  });

  after(async () => {
    await lake?.close();
  });

  test('a reader may not read it; unknown filters are 400', async () => {
    await srv.call('GET', '/v1/audit', 403, { token: 'reader' });
    const res = await srv.call('GET', '/v1/audit', 400, { query: { entity: 'job' } });
    assert.equal(res.body.field, 'entity');
  });

  test('create, patch and delete of a source are events naming the token and the request', async () => {
    const created = await srv.call('POST', '/v1/sources', 201, { body: def('pedidos'), token });
    const id = String(created.body.id);
    const patched = await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id }, body: { max_parallel_tasks: 3 }, headers: MERGE, token });
    // a job's bookkeeping (no API actor): not an event
    await lake.sql(`SET shopperlake.actor = ''; UPDATE control.sources SET last_offset = '42', last_loaded_at = now() WHERE id = ${id}`);
    // the same over the API: an event
    await srv.call('PATCH', '/v1/sources/{id}', 200, { params: { id }, body: { last_offset: null }, headers: MERGE, token });
    // a definition changed in SQL: an event naming the database user
    await lake.sql(`UPDATE control.sources SET region = 'sa-east1' WHERE id = ${id}`);
    const deleted = await srv.call('DELETE', '/v1/sources/{id}', 204, { params: { id }, token });

    const ev = (await events({ entity: 'source', entity_id: id })).reverse();
    assert.deepEqual(ev.map((e) => [e.action, e.actor]), [
      ['create', 'auditor'], ['update', 'auditor'], ['update', 'auditor'], ['update', 'database:postgres (psql)'], ['delete', 'auditor'],
    ]);
    assert.equal(ev[0].before, null);
    assert.equal(ev[0].after.object, 'pedidos');
    assert.equal(ev[0].request_id, created.headers.get('x-request-id'));
    assert.equal(ev[1].before.max_parallel_tasks, 1);
    assert.equal(ev[1].after.max_parallel_tasks, 3);
    assert.equal(ev[1].request_id, patched.headers.get('x-request-id'));
    assert.equal(ev[2].before.last_offset, '42');
    assert.equal(ev[2].after.last_offset, null);
    assert.equal(ev[3].after.region, 'sa-east1');
    assert.equal(ev[3].request_id, null);
    assert.equal(ev[4].after, null);
    assert.equal(ev[4].before.region, 'sa-east1');
    assert.equal(ev[4].request_id, deleted.headers.get('x-request-id'));
    for (const e of ev) assert.ok(Date.parse(e.at) > Date.now() - 120_000);
  });

  test('schedules and tokens are audited; a token event never holds its hash', async () => {
    const s = (await srv.call('POST', '/v1/schedules', 201, { body: { name: 'checks', task: 'monitoring_checks', cron: '*/10 * * * *' } })).body;
    await srv.call('PATCH', '/v1/schedules/{id}', 200, { params: { id: s.id }, body: { cron: '*/5 * * * *' }, headers: MERGE });
    const sev = (await events({ entity: 'schedule', entity_id: String(s.id) })).reverse();
    assert.deepEqual(sev.map((e) => [e.action, e.actor]), [['create', 'bootstrap-admin'], ['update', 'bootstrap-admin']]);
    assert.equal(sev[1].before.cron, '*/10 * * * *');
    assert.equal(sev[1].after.cron, '*/5 * * * *');
    assert.ok(!('next_fire_at' in sev[1].after));

    const t = (await srv.call('POST', '/v1/tokens', 201, { body: { name: 'short-lived', role: 'reader' } })).body;
    await srv.call('DELETE', '/v1/tokens/{id}', 204, { params: { id: t.id } });
    const tev = (await events({ entity: 'token', entity_id: String(t.id) })).reverse();
    assert.deepEqual(tev.map((e) => e.action), ['create', 'update']);
    assert.equal(tev[1].after.revoked_by, 'bootstrap-admin');
    const text = JSON.stringify(await events({ entity: 'token' }));
    assert.ok(!text.includes('secret_sha256') && !text.includes(t.token), 'no hash nor secret in the audit');
  });

  test('layer and report SQL files: first seen, changed, removed and added between two starts', async () => {
    const first = await events({ entity: 'sql_file' });
    assert.ok(first.some((e) => e.entity_id === 'refined/top_lojas.sql' && e.action === 'create' && e.actor === 'server'));
    assert.ok(first.every((e) => e.actor === 'server'));
    const n = first.length;

    await srv.stop();
    const top = path.join(home, 'sql/refined/top_lojas.sql');
    const old = readFileSync(top, 'utf8');
    writeFileSync(top, `${old}\n-- ranking changed\n`);
    rmSync(path.join(home, 'sql/refined/estoque_valorizado.sql'));
    writeFileSync(path.join(home, 'sql/layers/aud_extra.trusted.sql'), 'SELECT 1;\n');
    srv = await lake.startServer({ env: { SHOPPERLAKE_HOME: home } });
    await srv.waitForLog((l) => /SQL files changed/.test(l.msg));

    const now = await events({ entity: 'sql_file' });
    const fresh = now.slice(0, now.length - n);
    const by = Object.fromEntries(fresh.map((e) => [e.entity_id, e]));
    assert.deepEqual(Object.keys(by).sort(), ['layers/aud_extra.trusted.sql', 'refined/estoque_valorizado.sql', 'refined/top_lojas.sql']);
    assert.equal(by['refined/top_lojas.sql'].action, 'update');
    assert.equal(by['refined/top_lojas.sql'].before.text, old);
    assert.match(by['refined/top_lojas.sql'].after.text, /ranking changed/);
    assert.notEqual(by['refined/top_lojas.sql'].before.sha256, by['refined/top_lojas.sql'].after.sha256);
    assert.equal(by['refined/estoque_valorizado.sql'].action, 'delete');
    assert.equal(by['refined/estoque_valorizado.sql'].after, null);
    assert.equal(by['layers/aud_extra.trusted.sql'].action, 'create');

    // a start with nothing changed records nothing
    await srv.stop();
    srv = await lake.startServer({ env: { SHOPPERLAKE_HOME: home } });
    assert.equal((await events({ entity: 'sql_file' })).length, now.length);
  });
});
