// CORS (issue 15): a dashboard served from another origin may call the API
// when SHOPPERLAKE_CORS_ORIGINS names that origin; others get no CORS
// headers, and without the setting no origin is allowed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Lake, READER_TOKEN } from './lib/harness.mjs';

let lake;
let srv;
let plain;
const DASH = 'https://dash.shopper.example';

before(async () => {
  lake = await Lake.create('cors');
  srv = await lake.startServer({ env: { SHOPPERLAKE_CORS_ORIGINS: `https://other.example, ${DASH}` } });
  plain = await lake.startServer();
});

after(async () => {
  await lake?.close();
});

const url = (s, p) => `http://127.0.0.1:${s.port}${p}`;

describe('CORS', () => {
  test('a preflight from an allowed origin is 204 with what the API accepts, no token needed', async () => {
    const res = await fetch(url(srv, '/v1/sources'), {
      method: 'OPTIONS',
      headers: { Origin: DASH, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), DASH);
    assert.match(res.headers.get('access-control-allow-methods'), /POST/);
    assert.match(res.headers.get('access-control-allow-headers'), /Authorization/);
    assert.match(res.headers.get('vary'), /Origin/);
  });

  test('answers to an allowed origin carry Access-Control-Allow-Origin and the exposed headers', async () => {
    const res = await fetch(url(srv, '/v1/sources?limit=1'), { headers: { Origin: DASH, Authorization: `Bearer ${READER_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), DASH);
    assert.match(res.headers.get('access-control-expose-headers'), /Link/);
    // errors too, so the page can read the problem
    const bad = await fetch(url(srv, '/v1/sources?limit=0'), { headers: { Origin: DASH, Authorization: `Bearer ${READER_TOKEN}` } });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('access-control-allow-origin'), DASH);
  });

  test('another origin, or a server without the setting, gets no CORS headers', async () => {
    const other = await fetch(url(srv, '/v1/sources'), { method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' } });
    assert.notEqual(other.status, 204);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const res = await fetch(url(plain, '/v1/sources?limit=1'), { headers: { Origin: DASH, Authorization: `Bearer ${READER_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(url(plain, '/v1/sources'), { method: 'OPTIONS', headers: { Origin: DASH, 'Access-Control-Request-Method': 'GET' } });
    assert.notEqual(pre.status, 204);
  });
});
