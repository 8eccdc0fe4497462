// Helpers for tests that load data: a marketplace source database per test
// file (seeded by scripts/demo-db), the demo's source definitions, bounded
// polling of jobs and pipeline runs, and comparisons of tables across the
// source and the lake (both dumped with psql to sorted text).
//
// Every wait here has a deadline; a timeout fails with what was seen last.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { ROOT, cluster, psql, sleep } from './harness.mjs';

const execFileP = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';

export const FINAL_STATES = ['JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'];

// --- polling ------------------------------------------------------------

// Calls fn until it returns a truthy value or the deadline passes; returns
// that value. On timeout fails with describe(last value).
export async function poll(fn, { timeoutMs = 20_000, intervalMs = 100, what = 'condition', describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) {
      const seen = describe ? describe(last) : '';
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${seen ? `\nlast seen: ${seen}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

// GET /v1/jobs/{id}, checked against the spec.
export async function getJob(srv, id) {
  const res = await srv.call('GET', '/v1/jobs/{id}', 200, { params: { id }, token: 'reader' });
  return res.body;
}

// Polls a job until pred(job) holds (default: a final state).
export async function waitJob(srv, id, { pred = (j) => FINAL_STATES.includes(j.state), timeoutMs = 30_000, what } = {}) {
  let last;
  return poll(
    async () => {
      last = await getJob(srv, id);
      return pred(last) ? last : null;
    },
    { timeoutMs, intervalMs: 100, what: what ?? `job ${id}`, describe: () => JSON.stringify(last) },
  );
}

// Queues a load; returns the job.
export async function startLoad(srv, sourceId, loadType, headers = {}) {
  const res = await srv.call('POST', '/v1/sources/{id}/loads', 202, {
    params: { id: sourceId },
    body: { load_type: loadType },
    headers,
  });
  assert.equal(res.headers.get('location'), `/v1/jobs/${res.body.id}`);
  return res.body;
}

// A load to its end; asserts DONE unless expect says otherwise.
export async function runLoad(srv, sourceId, loadType, { expect = 'JOB_STATE_DONE', timeoutMs = 60_000 } = {}) {
  const job = await startLoad(srv, sourceId, loadType);
  const done = await waitJob(srv, job.id, { timeoutMs });
  assert.equal(done.state, expect, `job ${done.name}: ${done.state} ${done.error ?? ''}`);
  return done;
}

// Starts a pipeline run and waits for all its jobs to end.
export async function runPipeline(srv, name, { timeoutMs = 90_000, expect = 'JOB_STATE_DONE' } = {}) {
  const res = await srv.call('POST', '/v1/pipelines/{name}/runs', 202, { params: { name } });
  const run = await waitRun(srv, name, res.body.id, { timeoutMs });
  if (expect) {
    const bad = run.jobs.filter((j) => j.state !== expect);
    assert.deepEqual(
      bad.map((j) => `${j.name} ${j.state} ${j.error ?? ''}`),
      [],
      `pipeline ${name} run ${run.id}: every job ${expect}`,
    );
    assert.equal(run.state, expect, `pipeline ${name} run ${run.id} state`);
  }
  return run;
}

export async function getRun(srv, name, runId) {
  const res = await srv.call('GET', '/v1/pipelines/{name}/runs/{run_id}', 200, {
    params: { name, run_id: runId },
    token: 'reader',
  });
  return res.body;
}

export async function waitRun(srv, name, runId, { timeoutMs = 90_000 } = {}) {
  let last;
  return poll(
    async () => {
      last = await getRun(srv, name, runId);
      return last.jobs.length > 0 && last.jobs.every((j) => FINAL_STATES.includes(j.state)) ? last : null;
    },
    { timeoutMs, intervalMs: 200, what: `pipeline ${name} run ${runId}`, describe: () => JSON.stringify(last?.job_counts) },
  );
}

// --- the marketplace source database --------------------------------------

let dbCounter = 0;

// A database of the test cluster, owned by lake, for a source. seed: a
// number of sales for scripts/demo-db (the demo marketplace), or 0 for an
// empty database.
export class SourceDb {
  static async create(tag, { sales = 2000, seedValue = 0.42 } = {}) {
    const c = await cluster();
    const slug = String(tag).toLowerCase().replace(/[^a-z0-9]+/g, '').slice(0, 16);
    // it_<pid>_... so the harness drops it if this process dies.
    const name = `it_${process.pid}_src${slug}_${++dbCounter}_${randomBytes(3).toString('hex')}`;
    await psql(`CREATE DATABASE "${name}" OWNER lake`);
    const db = new SourceDb(c, name);
    if (sales > 0) await db.seed(sales, seedValue);
    return db;
  }

  constructor(c, name) {
    this.cluster = c;
    this.name = name;
    this.url = `postgresql:///${name}?host=${encodeURIComponent(c.socketDir)}&port=${c.port}&user=lake`;
  }

  async seed(sales, seedValue) {
    const script = path.join(ROOT, 'scripts/demo-db');
    assert.ok(existsSync(script), 'scripts/demo-db is missing');
    const env = { ...process.env, PATH: `${PG_BIN}:${process.env.PATH}` };
    await execFileP('bash', [script, this.url, String(sales), String(seedValue)], { cwd: ROOT, env, timeout: 120_000 });
  }

  // SQL as lake (the owner), so that tables made here are readable by the extractor.
  sql(text) {
    return psql(text, { db: this.name, user: 'lake' });
  }

  async changes(n, insertPct = 50, updatePct = 40) {
    const out = await this.sql(`SELECT inserted, updated, deleted FROM demo.apply_changes(${n}, ${insertPct}, ${updatePct})`);
    const [inserted, updated, deleted] = out.split('|').map(Number);
    return { inserted, updated, deleted };
  }

  // A session held open (for long transactions): exec(sql) runs statements
  // and resolves when they finished; end() closes the session.
  session() {
    return new Session(this.url);
  }

  async drop() {
    await psql(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
  }
}

class Session {
  constructor(url) {
    const bin = existsSync(path.join(PG_BIN, 'psql')) ? path.join(PG_BIN, 'psql') : 'psql';
    this.proc = spawn(bin, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.out = '';
    this.err = '';
    this.marks = 0;
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => (this.out += d));
    this.proc.stderr.on('data', (d) => (this.err += d));
    this.exited = new Promise((r) => this.proc.on('close', (code) => r(code)));
  }

  // Runs sql; resolves with its output once a marker printed after it arrives.
  async exec(sql, timeoutMs = 20_000) {
    const mark = `__mark_${++this.marks}__`;
    const start = this.out.length;
    // psql sends a statement at its ';' only, and runs \echo at once.
    this.proc.stdin.write(`${sql.trim().replace(/;?$/, ';')}\n\\echo ${mark}\n`);
    const deadline = Date.now() + timeoutMs;
    while (!this.out.includes(mark, start)) {
      if (this.proc.exitCode !== null) assert.fail(`psql session ended: ${this.err}`);
      if (Date.now() > deadline) assert.fail(`psql session: no answer within ${timeoutMs} ms to ${sql}\n${this.err}`);
      await sleep(20);
    }
    return this.out.slice(start, this.out.indexOf(mark, start)).trim();
  }

  async end() {
    if (this.proc.exitCode === null) {
      this.proc.stdin.end('\\q\n');
      const code = await Promise.race([this.exited, sleep(5000).then(() => 'timeout')]);
      if (code === 'timeout') this.proc.kill('SIGKILL');
    }
  }
}

// --- the demo's source definitions ---------------------------------------

export function demoSources() {
  return JSON.parse(readFileSync(path.join(ROOT, 'sql/demo/sources.json'), 'utf8'));
}

// Registers the demo's sources (all, or those whose object is in `only`);
// returns { object: source }.
export async function registerDemoSources(srv, only) {
  const out = {};
  for (const def of demoSources()) {
    if (only && !only.includes(def.object)) continue;
    const res = await srv.call('POST', '/v1/sources', 201, { body: def });
    out[def.object] = res.body;
  }
  return out;
}

// The server env that points the demo's connection_secret at a source db.
export function marketplaceEnv(src, extra = {}) {
  return {
    LAKE_SECRET_MARKETPLACE_URL: src.url,
    SHOPPERLAKE_WORKERS: 2,
    SHOPPERLAKE_HEARTBEAT_SECS: 1,
    SHOPPERLAKE_STALE_SECS: 3,
    ...extra,
  };
}

// --- comparing tables ----------------------------------------------------

// Rows of a query as text lines (psql unaligned, '|' separated), sorted.
export async function dumpRows(db, query, user = 'postgres') {
  const out = await psql(`COPY (${query}) TO STDOUT`, { db, user });
  return out ? out.split('\n').sort() : [];
}

// Asserts two sorted line lists are equal; the message shows the first
// differences, not the whole tables.
export function assertSameRows(got, want, what) {
  if (got.length === want.length && got.every((l, i) => l === want[i])) return;
  const g = new Set(got);
  const w = new Set(want);
  const extra = got.filter((l) => !w.has(l)).slice(0, 5);
  const missing = want.filter((l) => !g.has(l)).slice(0, 5);
  assert.fail(
    `${what}: ${got.length} rows, expected ${want.length}\n` +
      `  rows not expected (first 5): ${JSON.stringify(extra)}\n  rows missing (first 5): ${JSON.stringify(missing)}`,
  );
}

// The column list of a source definition, quoted.
export function colList(def, alias = '') {
  return def.columns.map((c) => `${alias}"${c.name}"`).join(', ');
}

// TRUSTED (live rows, the definition's columns) equals the source table.
export async function assertTrustedEqualsSource(lake, src, def) {
  const cols = colList(def);
  const table = `${def.system}_${def.object}`;
  const got = await dumpRows(lake.db, `SELECT ${cols} FROM trusted."${table}" WHERE NOT _deleted`);
  const want = await dumpRows(src.name, `SELECT ${cols} FROM ${def.schema ?? 'public'}."${def.object}"`);
  assertSameRows(got, want, `trusted.${table} vs source ${def.object}`);
  return got.length;
}

export function stepNames(job) {
  return job.steps.map((s) => s.name);
}
