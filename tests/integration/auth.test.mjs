// Tokens on every route of the spec: no token and an unknown token are 401
// (with WWW-Authenticate) except on the three public routes, the reader token
// may read but not write (403), a named operator token may also run and
// cancel loads and pipelines, the admin token may do everything. The route
// list and roles come from openapi.json and must equal server/routes.c's
// (but for the dashboard's static files, "/ui/*": no API operation).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ADMIN_TOKEN, Lake, READER_TOKEN, ROOT, expand } from './lib/harness.mjs';
import { assertMatchesSpec, operations } from './lib/spec.mjs';

const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /openapi.json'];

// {"GET", "/v1/sources", ROLE_READER, handle_sources_list},
function routesFromC() {
  const text = readFileSync(path.join(ROOT, 'server/routes.c'), 'utf8');
  const routes = [];
  for (const m of text.matchAll(/\{\s*"([A-Z]+)"\s*,\s*"(\/[^"]*)"\s*,\s*(ROLE_[A-Z]+)\s*,/g)) {
    if (m[2] === '/ui/*') continue;
    routes.push({ key: `${m[1]} ${m[2]}`, role: { ROLE_PUBLIC: 'public', ROLE_READER: 'reader', ROLE_OPERATOR: 'operator', ROLE_ADMIN: 'admin' }[m[3]] });
  }
  return routes;
}

const ops = operations();
const roleOf = (op) => (op.public ? 'public' : op.roles[0]);
// What an operator may do besides reading: run and cancel loads and pipelines.
const OPERATOR = ['POST /v1/sources/{id}/loads', 'POST /v1/jobs/{id}/cancel', 'POST /v1/pipelines/{name}/runs'];
// Reads only an admin may do.
const ADMIN_READS = ['GET /v1/tokens', 'GET /v1/audit'];
const RANK = { reader: 1, operator: 2, admin: 3 };

describe('the spec and server/routes.c list the same routes', () => {
  test('same (method, path) pairs', () => {
    const fromC = routesFromC();
    assert.ok(fromC.length >= 8, `parsed only ${fromC.length} routes from server/routes.c`);
    assert.deepEqual(
      ops.map((o) => `${o.method} ${o.path}`).sort(),
      fromC.map((r) => r.key).sort(),
      'openapi/openapi.yaml and server/routes.c disagree on the routes',
    );
  });

  test('same role for each route', () => {
    const fromC = Object.fromEntries(routesFromC().map((r) => [r.key, r.role]));
    const fromSpec = Object.fromEntries(ops.map((o) => [`${o.method} ${o.path}`, roleOf(o)]));
    assert.deepEqual(fromSpec, fromC);
  });

  test('exactly the health routes are public; every other says reader, operator or admin', () => {
    assert.deepEqual(ops.filter((o) => o.public).map((o) => `${o.method} ${o.path}`).sort(), [...PUBLIC].sort());
    for (const o of ops.filter((x) => !x.public)) {
      const key = `${o.method} ${o.path}`;
      assert.equal(o.roles.length, 1, `${key} names one role`);
      const want = OPERATOR.includes(key) ? 'operator' : o.method === 'GET' && !ADMIN_READS.includes(key) ? 'reader' : 'admin';
      assert.equal(o.roles[0], want, `${key}: reads need reader, loads/cancels/runs operator, other writes admin`);
      assert.ok(o.op.responses['401'], `${o.method} ${o.path} documents 401`);
      if (o.roles[0] !== 'reader') assert.ok(o.op.responses['403'], `${o.method} ${o.path} documents 403`);
    }
  });
});

let lake;
let srv;
let seq = 0;
let operatorToken;

function sourceDef(over = {}) {
  return {
    system: 'authsys',
    source_type: 'postgresql',
    database: 'authdb',
    object: `obj${++seq}`,
    connection_secret: 'env:LAKE_SECRET_AUTH_URL',
    columns: [{ name: 'id', type: 'bigint', key: true }],
    load_type: 'full',
    ...over,
  };
}

async function newSource() {
  const res = await srv.call('POST', '/v1/sources', 201, { body: sourceDef() });
  return res.body.id;
}

// A queued job (and a pipeline run with it), written straight into the
// control tables so these tests do not depend on the load endpoints.
async function newJob() {
  const sourceId = await newSource();
  const id = await lake.sql(
    `INSERT INTO control.jobs (source_id, source_name, load_type) VALUES (${sourceId}, 'authsys.authdb.x', 'full') RETURNING id`,
  );
  return Number(id);
}

async function newRun() {
  const runId = Number(
    await lake.sql(
      `INSERT INTO control.pipeline_runs (pipeline, system, source_type, load_type, max_parallel)
       VALUES ('authsys_postgresql_full', 'authsys', 'postgresql', 'full', 1) RETURNING id`,
    ),
  );
  await lake.sql(
    `INSERT INTO control.jobs (source_name, pipeline_run_id, load_type) VALUES ('authsys.authdb.x', ${runId}, 'full')`,
  );
  return runId;
}

// How to call each route successfully: params, body, and the status of success.
const fixtures = {
  'GET /healthz': async () => ({ status: 200 }),
  'GET /readyz': async () => ({ status: 200 }),
  'GET /openapi.json': async () => ({ status: 200 }),
  'GET /v1/sources': async () => ({ status: 200 }),
  'POST /v1/sources': async () => ({ body: sourceDef(), status: 201 }),
  'GET /v1/sources/{id}': async () => ({ params: { id: await newSource() }, status: 200 }),
  'PATCH /v1/sources/{id}': async () => ({
    params: { id: await newSource() },
    body: { max_parallel_tasks: 2 },
    headers: { 'content-type': 'application/merge-patch+json' },
    status: 200,
  }),
  'DELETE /v1/sources/{id}': async () => ({ params: { id: await newSource() }, status: 204 }),
  'POST /v1/sources/{id}/loads': async () => ({ params: { id: await newSource() }, body: { load_type: 'full' }, status: 202 }),
  'GET /v1/jobs': async () => ({ status: 200 }),
  'GET /v1/jobs/{id}': async () => ({ params: { id: await newJob() }, status: 200 }),
  'POST /v1/jobs/{id}/cancel': async () => ({ params: { id: await newJob() }, status: 202 }),
  'GET /v1/pipelines': async () => ({ status: 200 }),
  'POST /v1/pipelines/{name}/runs': async () => {
    await newSource();
    return { params: { name: 'authsys_postgresql_full' }, status: 202 };
  },
  'GET /v1/pipelines/{name}/runs': async () => ({ params: { name: 'authsys_postgresql_full' }, status: 200 }),
  'GET /v1/pipelines/{name}/runs/{run_id}': async () => ({
    params: { name: 'authsys_postgresql_full', run_id: await newRun() },
    status: 200,
  }),
  'GET /v1/tokens': async () => ({ status: 200 }),
  'POST /v1/tokens': async () => ({ body: { name: `auth-${++seq}`, role: 'reader' }, status: 201 }),
  'DELETE /v1/tokens/{id}': async () => {
    const res = await srv.call('POST', '/v1/tokens', 201, { body: { name: `auth-${++seq}`, role: 'reader' } });
    return { params: { id: res.body.id }, status: 204 };
  },
};

// A route the fixtures do not know yet: "1" for every placeholder, {} as body;
// any documented status but 401/403 counts as allowed.
async function genericFixture(op) {
  const params = Object.fromEntries([...op.path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1], '1']));
  return { params, body: op.op.requestBody ? {} : undefined, status: null };
}

async function callAs(op, token, fx) {
  const res = await srv.request(op.method, expand(op.path, fx.params ?? {}), {
    token,
    body: fx.body,
    headers: fx.headers,
  });
  return res;
}

before(async () => {
  lake = await Lake.create('auth');
  srv = await lake.startServer();
  operatorToken = (await srv.call('POST', '/v1/tokens', 201, { body: { name: 'auth-operator', role: 'operator' } })).body.token;
});

after(async () => {
  await lake?.close();
});

for (const op of ops) {
  const key = `${op.method} ${op.path}`;
  const role = roleOf(op);
  const fixture = () => (fixtures[key] ? fixtures[key]() : genericFixture(op));

  describe(`${key} (${role})`, () => {
    if (role === 'public') {
      test('answers without a token, and ignores a wrong one', async () => {
        const fx = await fixture();
        for (const token of [null, 'not-a-valid-token-at-all', READER_TOKEN, ADMIN_TOKEN]) {
          const res = await callAs(op, token, fx);
          assertMatchesSpec(op.method, op.path, fx.status, res);
        }
      });
      return;
    }

    test('no token → 401 with WWW-Authenticate', async () => {
      const fx = await fixture();
      const res = await callAs(op, null, fx);
      assertMatchesSpec(op.method, op.path, 401, res);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="shopper-lake"');
      assert.equal(res.body.field, 'Authorization');
      assert.match(res.body.detail, /send Authorization: Bearer <token>/);
    });

    test('a wrong token → 401', async () => {
      const fx = await fixture();
      const wrong = [
        'wrong-token-0123456789abcdef',
        ADMIN_TOKEN.slice(0, -1),
        `${ADMIN_TOKEN}x`,
        ADMIN_TOKEN.toUpperCase(),
        `${READER_TOKEN}0`,
        `${ADMIN_TOKEN}${READER_TOKEN}`,
      ];
      for (const token of wrong) {
        const res = await callAs(op, token, fx);
        assertMatchesSpec(op.method, op.path, 401, res);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="shopper-lake"');
        assert.match(res.body.detail, /not valid/);
      }
      for (const authorization of [`Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, 'Bearer', ADMIN_TOKEN, `Token ${ADMIN_TOKEN}`]) {
        const res = await callAs(op, null, { ...fx, headers: { ...fx.headers, authorization } });
        assertMatchesSpec(op.method, op.path, 401, res);
      }
    });

    // reader and operator tokens: refused below the route's role, allowed from it on
    for (const [who, token] of [['reader', () => 'reader'], ['operator', () => operatorToken]]) {
      if (RANK[who] < RANK[role]) {
        test(`${who} token → 403`, async () => {
          const fx = await fixture();
          const res = await callAs(op, token(), fx);
          assertMatchesSpec(op.method, op.path, 403, res);
          assert.equal(res.body.field, 'Authorization');
          assert.match(res.body.detail, new RegExp(`role ${who}; .* needs the ${role} role`));
        });
      } else {
        test(`${who} token → allowed`, async () => {
          const fx = await fixture();
          const res = await callAs(op, token(), fx);
          if (fx.status) assertMatchesSpec(op.method, op.path, fx.status, res);
          else {
            assert.ok(![401, 403].includes(res.status), `${key} refused the ${who}: ${res.text}`);
            assertMatchesSpec(op.method, op.path, res.status, res);
          }
        });
      }
    }

    test('admin token → allowed', async () => {
      const fx = await fixture();
      const res = await callAs(op, 'admin', fx);
      if (fx.status) assertMatchesSpec(op.method, op.path, fx.status, res);
      else {
        assert.ok(![401, 403].includes(res.status), `${key} refused the admin: ${res.text}`);
        assertMatchesSpec(op.method, op.path, res.status, res);
      }
    });
  });
}

describe('the Authorization header is read like RFC 6750 says', () => {
  test('the scheme is case-insensitive and spaces before the token are skipped', async () => {
    for (const authorization of [`bearer ${ADMIN_TOKEN}`, `BEARER ${READER_TOKEN}`, `Bearer    ${ADMIN_TOKEN}`]) {
      const res = await srv.request('GET', '/v1/sources', { token: null, headers: { authorization } });
      assertMatchesSpec('GET', '/v1/sources', 200, res);
    }
  });

  test('an unknown path (404) and a wrong method (405) are decided before the token', async () => {
    const res = await srv.request('GET', '/v1/unknown', { token: null });
    assertMatchesSpec('GET', null, 404, res);
    const res2 = await srv.request('DELETE', '/v1/jobs', { token: null });
    assertMatchesSpec('DELETE', '/v1/jobs', 405, res2);
  });
});

describe('a server without a reader token', () => {
  let solo;
  before(async () => {
    solo = await lake.startServer({ env: { SHOPPERLAKE_READER_TOKEN: null } });
  });

  test('refuses the (unconfigured) reader token with 401 and still serves the admin', async () => {
    const res = await solo.request('GET', '/v1/sources', { token: 'reader' });
    assertMatchesSpec('GET', '/v1/sources', 401, res);
    const ok = await solo.request('GET', '/v1/sources', { token: 'admin' });
    assertMatchesSpec('GET', '/v1/sources', 200, ok);
  });

  test('stops cleanly', async () => {
    await solo.stop();
  });
});

describe('stop', () => {
  test('the server stops cleanly (SIGTERM → exit 0, no sanitizer report)', async () => {
    await srv.stop();
  });
});
