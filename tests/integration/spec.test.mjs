// The contract itself: it lints clean, openapi.json is exactly the bundle of
// openapi.yaml, the server serves that file, and the spec keeps its own
// conventions (every error is a Problem, every protected operation says 401...).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import YAML from 'yaml';

import { Lake, ROOT } from './lib/harness.mjs';
import { METHODS, SPEC_PATH, deref } from './lib/spec.mjs';

const execFileP = promisify(execFile);
const REDOCLY = path.join(ROOT, 'node_modules/.bin/redocly');
const YAML_PATH = path.join(ROOT, 'openapi/openapi.yaml');
const quietEnv = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

async function redocly(args) {
  try {
    const { stdout, stderr } = await execFileP(REDOCLY, args, { cwd: ROOT, env: quietEnv, timeout: 120_000, maxBuffer: 32 << 20 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    return { code: e.code ?? e.signal, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.killed ? '\n(killed: timeout)' : ''}` };
  }
}

describe('the contract file', () => {
  test('every array schema says what its items are (generators need it)', () => {
    const spec = JSON.parse(readFileSync(path.join(ROOT, 'openapi/openapi.json'), 'utf8'));
    const missing = [];
    const walk = (node, at) => {
      if (!node || typeof node !== 'object') return;
      const isArray = node.type === 'array' || (Array.isArray(node.type) && node.type.includes('array'));
      if (isArray && !node.items && !node.prefixItems) missing.push(at);
      for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
    };
    walk(spec, '#');
    assert.deepEqual(missing, []);
  });

  test('redocly lint passes (recommended rules, no errors, no warnings)', async () => {
    const r = await redocly(['lint', 'openapi/openapi.yaml']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Your API description is valid/, r.out);
    assert.doesNotMatch(r.out, /You have \d+ warnings?/, r.out);
  });

  test('openapi/openapi.json is exactly what `npm run spec` makes of openapi.yaml', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shopperlake-spec-'));
    try {
      const out = path.join(dir, 'openapi.json');
      const r = await redocly(['bundle', 'openapi/openapi.yaml', '-o', out, '--ext', 'json']);
      assert.equal(r.code, 0, r.out);
      const fresh = readFileSync(out, 'utf8');
      const committed = readFileSync(SPEC_PATH, 'utf8');
      assert.ok(fresh === committed, 'openapi/openapi.json is stale: run `npm run spec` and commit the result');
      assert.match(committed, /^\{\n {2}"openapi": "3\.1\.\d+",\n/, 'pretty-printed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('openapi.yaml and openapi.json describe the same document', () => {
    const fromYaml = YAML.parse(readFileSync(YAML_PATH, 'utf8'));
    const fromJson = JSON.parse(readFileSync(SPEC_PATH, 'utf8'));
    assert.deepEqual(fromJson, fromYaml);
  });
});

describe('the contract\'s conventions', () => {
  const doc = YAML.parse(readFileSync(YAML_PATH, 'utf8'));
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) if (item[m]) ops.push([m.toUpperCase(), p, item[m]]);
  }

  test('every operation has an operationId, a summary, a tag and a 405', () => {
    const ids = new Set();
    for (const [m, p, op] of ops) {
      assert.ok(op.operationId && !ids.has(op.operationId), `${m} ${p}: unique operationId`);
      ids.add(op.operationId);
      assert.ok(op.summary, `${m} ${p}: summary`);
      assert.ok(op.tags?.length, `${m} ${p}: tags`);
      assert.ok(op.responses['405'], `${m} ${p}: 405`);
    }
  });

  test('every error response is application/problem+json with the Problem schema', () => {
    for (const [m, p, op] of ops) {
      for (const [status, r] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const resp = deref(r);
        assert.deepEqual(Object.keys(resp.content ?? {}), ['application/problem+json'], `${m} ${p} ${status}`);
        assert.deepEqual(resp.content['application/problem+json'].schema, { $ref: '#/components/schemas/Problem' }, `${m} ${p} ${status}`);
      }
    }
  });

  test('protected operations document 401 (and 403 for writes), 500 and 503', () => {
    for (const [m, p, op] of ops) {
      const security = op.security ?? doc.security;
      if (security.length === 0) continue;
      for (const s of ['401', '500', '503']) assert.ok(op.responses[s], `${m} ${p} documents ${s}`);
      if (m !== 'GET') assert.ok(op.responses['403'], `${m} ${p} documents 403`);
    }
  });

  test('operations that read a body document 400, 413, 415 and 422', () => {
    for (const [m, p, op] of ops) {
      if (!op.requestBody) continue;
      for (const s of ['400', '413', '415', '422']) assert.ok(op.responses[s], `${m} ${p} documents ${s}`);
    }
  });

  test('every response documents X-Request-Id', () => {
    for (const [m, p, op] of ops) {
      for (const [status, r] of Object.entries(op.responses)) {
        assert.ok(deref(r).headers?.['X-Request-Id'], `${m} ${p} ${status} documents X-Request-Id`);
      }
    }
  });
});

describe('the server serves the contract', () => {
  let lake;
  let srv;
  before(async () => {
    lake = await Lake.create('spec');
    srv = await lake.startServer();
  });
  after(async () => {
    await lake?.close();
  });

  test('GET /openapi.json is openapi/openapi.json, byte for byte, without a token', async () => {
    const res = await srv.call('GET', '/openapi.json', 200, { token: null });
    assert.equal(res.text, readFileSync(SPEC_PATH, 'utf8'));
    assert.equal(res.headers.get('content-type'), 'application/json');
  });

  test('the server stops cleanly', async () => {
    await srv.stop();
  });
});
