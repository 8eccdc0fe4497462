// The contract as an oracle: every response a test sees goes through
// assertMatchesSpec, which checks that the status is documented for the
// operation, that the documented headers are there, that the content type is
// a documented one and that the body validates against its schema
// (JSON Schema 2020-12, as OpenAPI 3.1 uses it).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SPEC_PATH = path.join(ROOT, 'openapi/openapi.json');
export const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8'));

const BASE = 'urn:shopper-lake:openapi';
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
addFormats(ajv);
// OpenAPI's own keyword inside schemas (we use `examples`, but be lenient).
ajv.addKeyword({ keyword: 'example' });

// Schema refs point into the spec; give Ajv the schemas under one id.
function rewriteRefs(node) {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
        ? `${BASE}#/$defs/${v.slice('#/components/schemas/'.length)}`
        : rewriteRefs(v);
    }
    return out;
  }
  return node;
}
ajv.addSchema({ $id: BASE, $defs: rewriteRefs(spec.components?.schemas ?? {}) });

const compiled = new Map();
function validator(key, schema) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile({ $id: `${BASE}:${key}`, ...rewriteRefs(schema) }));
  return compiled.get(key);
}

// Follows local $refs (responses, headers, parameters...) in the spec.
export function deref(node) {
  const seen = new Set();
  while (node && typeof node === 'object' && typeof node.$ref === 'string' && node.$ref.startsWith('#/')) {
    assert.ok(!seen.has(node.$ref), `ref loop at ${node.$ref}`);
    seen.add(node.$ref);
    node = node.$ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o, k) => o?.[k], spec);
  }
  return node;
}

// Every operation: { method: 'GET', path: '/v1/sources', op, roles: [...] | [] (public) }.
export function operations() {
  const out = [];
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const m of METHODS) {
      if (!item[m]) continue;
      const security = item[m].security ?? spec.security ?? [];
      const roles = security.flatMap((req) => Object.values(req).flat());
      out.push({ method: m.toUpperCase(), path: p, op: item[m], public: security.length === 0, roles });
    }
  }
  return out;
}

function operation(method, template) {
  const item = spec.paths[template];
  return item?.[method.toLowerCase()];
}

function formatErrors(errors) {
  return (errors ?? []).map((e) => `  ${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`).join('\n');
}

function validate(key, schema, value, what) {
  const v = validator(key, schema);
  if (!v(value)) {
    assert.fail(`${what} does not match the spec:\n${formatErrors(v.errors)}\nbody: ${JSON.stringify(value, null, 1).slice(0, 3000)}`);
  }
}

// The problem schema alone (for answers no operation owns: an unknown path).
export function assertProblem(status, res) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  assert.equal(mediaType(res), 'application/problem+json');
  validate('Problem', { $ref: '#/components/schemas/Problem' }, res.body, `problem ${status}`);
  assert.equal(res.body.status, status, 'the problem\'s status matches the HTTP status');
  assert.ok(res.headers.get('x-request-id'), 'X-Request-Id header');
  assert.equal(res.body.request_id, res.headers.get('x-request-id'), 'request_id matches X-Request-Id');
  return res.body;
}

function mediaType(res) {
  return (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * Asserts that `response` (from the harness: { status, headers, text }) is the
 * documented answer `status` of `method` `pathTemplate`, and `body` (the
 * parsed JSON, or null) validates. pathTemplate null means a path the spec
 * does not have: only a 404 problem is acceptable. A method the path does not
 * have is checked against the path's documented 405.
 */
export function assertMatchesSpec(method, pathTemplate, status, response, body = response.body) {
  const where = `${method} ${pathTemplate ?? '(unknown path)'}`;
  assert.equal(response.status, status, `${where}: expected ${status}, got ${response.status}: ${response.text.slice(0, 800)}`);
  if (pathTemplate === null) {
    assert.equal(status, 404, 'an unknown path can only be 404');
    return assertProblem(404, { ...response, body });
  }
  const item = spec.paths[pathTemplate];
  assert.ok(item, `${pathTemplate} is not a path of the spec`);
  let op = operation(method, pathTemplate);
  if (!op) {
    assert.equal(status, 405, `${where} is not an operation of the spec; only 405 is acceptable`);
    op = METHODS.map((m) => item[m]).find((o) => o?.responses?.['405']);
    assert.ok(op, `no operation of ${pathTemplate} documents 405`);
  }
  const documented = op.responses[String(status)] ?? op.responses.default;
  assert.ok(documented, `${where}: status ${status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`);
  const resp = deref(documented);

  for (const [name, h] of Object.entries(resp.headers ?? {})) {
    const header = deref(h);
    const value = response.headers.get(name);
    if (header.required) assert.ok(value !== null, `${where} ${status}: required header ${name} is missing`);
    if (value !== null && header.schema) {
      validate(`${op.operationId}:${status}:header:${name}`, header.schema, value, `${where} ${status} header ${name}`);
    }
  }

  const content = resp.content ?? {};
  if (Object.keys(content).length === 0) {
    assert.equal(response.text, '', `${where} ${status} documents no body but got: ${response.text.slice(0, 300)}`);
    return body;
  }
  const type = mediaType(response);
  assert.ok(type in content, `${where} ${status}: content type '${type}' is not documented (${Object.keys(content).join(', ')})`);
  const schema = content[type].schema;
  if (schema && !/json$/.test(type)) {
    // a text answer (/metrics): its schema is a string
    validate(`${op.operationId}:${status}:${type}`, schema, response.text, `${where} ${status} body`);
  } else if (schema) {
    assert.notEqual(body, null, `${where} ${status}: expected a JSON body, got: ${response.text.slice(0, 300)}`);
    validate(`${op.operationId}:${status}:${type}`, schema, body, `${where} ${status} body`);
  }
  if (type === 'application/problem+json') {
    assert.equal(body.status, status, 'the problem\'s status matches the HTTP status');
    assert.equal(body.request_id, response.headers.get('x-request-id'), 'request_id matches X-Request-Id');
  }
  return body;
}

// Asserts that a request body (one the server accepts) is valid for the spec
// too, so the documented request schema is never stricter than the server.
export function assertRequestMatchesSpec(method, pathTemplate, contentType, body) {
  const op = operation(method, pathTemplate);
  assert.ok(op?.requestBody, `${method} ${pathTemplate} has no documented request body`);
  const media = deref(op.requestBody).content?.[contentType];
  assert.ok(media, `${method} ${pathTemplate} does not document ${contentType}`);
  validate(`${op.operationId}:request:${contentType}`, media.schema, body, `${method} ${pathTemplate} request`);
}

// Does the documented request schema accept this body? (true/false, no assert)
export function requestSchemaAccepts(method, pathTemplate, contentType, body) {
  const op = operation(method, pathTemplate);
  const media = deref(op.requestBody).content[contentType];
  return validator(`${op.operationId}:request:${contentType}`, media.schema)(body);
}

// The value of a named example in components/examples.
export function example(name) {
  const ex = spec.components?.examples?.[name];
  assert.ok(ex, `no example ${name} in the spec`);
  return structuredClone(ex.value);
}
