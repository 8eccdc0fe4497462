// Every request example of the contract, sent verbatim to a fresh lake in a
// sensible order, gets the answer the contract documents (issue 15): the
// request bodies of POST and PATCH, and the query examples of the table
// query against a table shaped like the one they name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Lake } from './lib/harness.mjs';
import { assertMatchesSpec, deref, spec } from './lib/spec.mjs';

let lake;
let srv;

before(async () => {
  lake = await Lake.create('specex');
  srv = await lake.startServer();
});

after(async () => {
  await lake?.close();
});

// The body examples of an operation: [[name, contentType, value], ...].
function bodyExamples(path, method) {
  const rb = deref(spec.paths[path][method].requestBody);
  const out = [];
  for (const [ct, media] of Object.entries(rb?.content ?? {})) {
    if (media.example !== undefined) out.push(['example', ct, media.example]);
    for (const [name, ex] of Object.entries(media.examples ?? {})) out.push([name, ct, deref(ex).value]);
  }
  return out;
}

// The documented success status of an operation.
const success = (path, method) => Number(Object.keys(spec.paths[path][method].responses).find((c) => c.startsWith('2')));

async function send(path, method, params, ct, body) {
  const url = path.replace(/\{(\w+)\}/g, (_, k) => String(params[k]));
  const res = await srv.request(method.toUpperCase(), url, { body, headers: { 'Content-Type': ct } });
  assertMatchesSpec(method.toUpperCase(), path, success(path, method), res);
  return res.body;
}

describe('the request examples of the contract', () => {
  const made = {};

  test('POST /v1/tokens', async () => {
    for (const [, ct, value] of bodyExamples('/v1/tokens', 'post')) await send('/v1/tokens', 'post', {}, ct, value);
  });

  test('POST /v1/sources: every example is stored (the first gets id 1, as later examples say)', async () => {
    for (const [name, ct, value] of bodyExamples('/v1/sources', 'post')) made[name] = await send('/v1/sources', 'post', {}, ct, value);
    assert.equal(Object.values(made)[0].id, 1);
  });

  test('PATCH /v1/sources/{id}, on the api source', async () => {
    const api = Object.values(made).find((s) => s.source_type === 'api');
    for (const [, ct, value] of bodyExamples('/v1/sources/{id}', 'patch')) await send('/v1/sources/{id}', 'patch', { id: api.id }, ct, value);
  });

  test('POST /v1/sources/{id}/loads, on source 1', async () => {
    for (const [, ct, value] of bodyExamples('/v1/sources/{id}/loads', 'post')) await send('/v1/sources/{id}/loads', 'post', { id: 1 }, ct, value);
  });

  test('POST and PATCH /v1/schedules', async () => {
    const schedules = [];
    for (const [, ct, value] of bodyExamples('/v1/schedules', 'post')) schedules.push(await send('/v1/schedules', 'post', {}, ct, value));
    for (const [, ct, value] of bodyExamples('/v1/schedules/{id}', 'patch')) await send('/v1/schedules/{id}', 'patch', { id: schedules[0].id }, ct, value);
  });

  test('GET /v1/tables/{layer}/{table}: the filter and order examples fit the example table', async () => {
    const path = '/v1/tables/{layer}/{table}';
    const params = deref(spec.paths[path].get.parameters ?? []).map(deref);
    const table = deref(spec.components.parameters.TableName).schema.examples[0];
    await lake.sql(`SET ROLE lake;
      CREATE TABLE trusted.${table} (id bigint PRIMARY KEY, produto_id bigint, loja_id bigint, cliente_id bigint,
        promocao_id bigint, data_venda timestamptz, quantidade int, preco_unitario numeric(12,2), total numeric(14,2));
      INSERT INTO trusted.${table} SELECT g, g % 7, 1 + g % 5, g, CASE WHEN g % 3 = 0 THEN g END,
        '2026-10-15'::timestamptz + g * interval '1 hour', 1 + g % 4, 50 + g, 50 + g FROM generate_series(1, 2000) g;`);
    const filters = params.find((p) => p.name === 'filters');
    for (const [name, ex] of Object.entries(filters.examples)) {
      const query = Object.entries(deref(ex).value).flatMap(([col, v]) => (Array.isArray(v) ? v : [v]).map((x) => [col, x]));
      const res = await srv.call('GET', path, 200, { params: { layer: 'trusted', table }, query, token: 'reader' });
      assert.ok(res.body.items.length > 0, `filters example ${name} selects rows`);
    }
    const order = params.find((p) => p.name === 'order');
    for (const value of order.schema.examples) {
      await srv.call('GET', path, 200, { params: { layer: 'trusted', table }, query: { order: value, limit: '5' }, token: 'reader' });
    }
  });
});
