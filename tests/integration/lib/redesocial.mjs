// Helpers for tests of the API extractor against the redesocial simulator
// (tests/fixtures/redesocial): start and stop a simulator, drive its
// /_control side door (faults, stats, data set, truth dump), build source
// definitions from sql/demo/sources_redesocial.json pointed at it, and read
// what a load left in the bucket and in the layers.
//
// Every wait here has a deadline.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { ROOT, sleep } from './harness.mjs';

export const SIM_BIN =
  process.env.REDESOCIAL_SIM || path.join(path.dirname(process.env.SHOPPERLAKE_BIN || path.join(ROOT, 'build-test/shopperlake')), 'tests/fixtures/redesocial/redesocial-sim');

// The simulator's default OAuth client, as the lake's secret holds it.
export const CLIENT = 'redesocial-client:redesocial-secret';

const START_TIMEOUT_MS = 15_000;

// --- the simulator ------------------------------------------------------

export class Sim {
  // Starts redesocial-sim on a free port; args are extra flags
  // (e.g. ['--posts', 3000, '--seed', 7]).
  static async start(args = []) {
    assert.ok(existsSync(SIM_BIN), `no simulator at ${SIM_BIN}: run meson compile -C build-test`);
    const sim = new Sim(['--port', '0', ...args.map(String)]);
    await sim.ready;
    return sim;
  }

  constructor(args) {
    this.args = args;
    this.stdout = '';
    this.stderr = '';
    this.proc = spawn(SIM_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d) => {
      // keep the tail only: --log-requests can be chatty
      this.stderr = (this.stderr + d).slice(-20_000);
    });
    this.exited = new Promise((resolve) => this.proc.on('close', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`redesocial-sim did not print its port within ${START_TIMEOUT_MS} ms\n${this.stderr}`));
      }, START_TIMEOUT_MS);
      this.proc.stdout.on('data', (d) => {
        this.stdout += d;
        const nl = this.stdout.indexOf('\n');
        if (nl < 0 || this.port) return;
        clearTimeout(timer);
        try {
          this.port = JSON.parse(this.stdout.slice(0, nl)).port;
          assert.ok(Number.isInteger(this.port) && this.port > 0);
          resolve(this);
        } catch {
          reject(new Error(`redesocial-sim: bad first line ${this.stdout.slice(0, nl)}`));
        }
      });
      this.exited.then((e) => {
        clearTimeout(timer);
        if (!this.port) reject(new Error(`redesocial-sim exited (${JSON.stringify(e)}) before listening\n${this.stderr}`));
      });
    });
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async request(method, p, body) {
    const res = await fetch(this.url + p, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    assert.ok(res.ok, `simulator ${method} ${p}: ${res.status} ${text}`);
    return text;
  }

  async control(method, p, body) {
    return JSON.parse(await this.request(method, `/_control/${p}`, body));
  }

  faults(f) {
    return this.control('POST', 'faults', f);
  }

  clearFaults() {
    return this.control('DELETE', 'faults');
  }

  stats() {
    return this.control('GET', 'stats');
  }

  resetStats() {
    return this.control('DELETE', 'stats');
  }

  resize(sizes) {
    return this.control('POST', 'dataset', sizes);
  }

  summary() {
    return this.control('GET', 'dataset');
  }

  // Every version of an endpoint in API order: { lines: [text], versions: [object] }.
  async truth(endpoint = 'posts') {
    const text = await this.request('GET', `/_control/dataset?endpoint=${endpoint}`);
    const lines = text.split('\n').filter(Boolean);
    return { lines, versions: lines.map((l) => JSON.parse(l)) };
  }

  // A token of the default client, for a test's own calls to the API.
  async token() {
    const res = await fetch(`${this.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(CLIENT).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    return (await res.json()).access_token;
  }

  // One page of the API as raw text (for comparing with the bucket's files).
  async page(endpoint, query, token) {
    const res = await fetch(`${this.url}${endpoint}?${new URLSearchParams(query)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200, `GET ${endpoint}: ${res.status}`);
    return res.text();
  }

  // SIGTERM; insists on exit status 0 within 10 s (a sanitizer report or a
  // crash of the simulator fails the test that stops it).
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const e = await Promise.race([this.exited, sleep(10_000).then(() => null)]);
    if (!e) {
      this.proc.kill('SIGKILL');
      await this.exited;
      assert.fail('redesocial-sim did not exit within 10 s of SIGTERM');
    }
    assert.deepEqual(e, { code: 0, signal: null }, `redesocial-sim ${this.args.join(' ')} did not exit cleanly\n${this.stderr.slice(-4000)}`);
  }
}

// Counts of /_control/stats for one path and status (0 when absent).
export function served(stats, p, status) {
  return stats.requests?.[p]?.[String(status)] ?? 0;
}

// --- source definitions --------------------------------------------------

export function redesocialDefs() {
  return JSON.parse(readFileSync(path.join(ROOT, 'sql/demo/sources_redesocial.json'), 'utf8'));
}

// The demo's posts source pointed at a simulator. over: top-level fields to
// replace; options: options to add or replace.
export function postsDef(sim, { options = {}, ...over } = {}) {
  const def = structuredClone(redesocialDefs().find((d) => d.object === 'posts'));
  assert.ok(def, 'sources_redesocial.json has no posts source');
  def.options = { ...def.options, base_url: sim.url, ...options };
  return { ...def, ...over };
}

// --- truth -----------------------------------------------------------------

// The newest version of each id (versions come in API order, so the last wins).
export function latestById(versions) {
  const m = new Map();
  for (const v of versions) m.set(v.id, v);
  return m;
}

// numeric text without trailing zeros ("1.000" -> "1", "0.730" -> "0.73"), to
// compare with String() of a JSON number (the simulator's scores have at
// most 3 decimals, so String() is exact for them).
export function normNumeric(s) {
  if (s === null || s === undefined || s === '') return s;
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

// --- the bucket --------------------------------------------------------------

// Files of one load in the bucket: { pages: [{ page, file, text }], errors:
// [{ page, attempt, file, body }] } sorted by page (and attempt).
export function bucketFiles(bucketDir, system, object, jobName) {
  const base = path.join(bucketDir, system, object);
  const pages = [];
  const errors = [];
  const stray = [];
  if (!existsSync(base)) return { pages, errors, stray };
  const esc = jobName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pageRe = new RegExp(`^${esc}-(\\d{5})\\.json$`);
  const errRe = new RegExp(`^${esc}-(\\d{5})\\.error-(\\d+)\\.json$`);
  for (const day of readdirSync(base)) {
    assert.match(day, /^dt=\d{4}-\d{2}-\d{2}$/, `bucket folder ${day}`);
    for (const name of readdirSync(path.join(base, day))) {
      const file = path.join(base, day, name);
      let m;
      if ((m = pageRe.exec(name))) pages.push({ page: Number(m[1]), file, text: readFileSync(file, 'utf8') });
      else if ((m = errRe.exec(name)))
        errors.push({ page: Number(m[1]), attempt: Number(m[2]), file, body: JSON.parse(readFileSync(file, 'utf8')) });
      else if (name.startsWith(jobName) || name.startsWith('.')) stray.push(file);
    }
  }
  pages.sort((a, b) => a.page - b.page);
  errors.sort((a, b) => a.page - b.page || a.attempt - b.attempt);
  return { pages, errors, stray };
}
