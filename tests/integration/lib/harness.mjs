// The integration harness: the real shopperlake binary against a real
// PostgreSQL.
//
// - The cluster is the private one scripts/test starts (SHOPPERLAKE_TEST_PG,
//   SHOPPERLAKE_TEST_PG_PORT); run by hand without them, the harness starts
//   var/test-pg on port 5439 itself with scripts/pg, and stops it again when
//   the last Lake (or holdCluster() user) of the file is done, if it was not
//   running before.
// - Each test file gets its own database (Lake.create), owned by `lake`,
//   dropped by lake.close(), so files never share state.
// - lake.startServer() spawns the binary on a free port, collects its JSON log
//   lines, and server.stop() sends SIGTERM and insists on exit code 0 within
//   10 s. Any ASan/UBSan/LSan report on stderr fails the test with the report.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { assertMatchesSpec } from './spec.mjs';

const execFileP = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.SHOPPERLAKE_BIN || path.join(ROOT, 'build-test/shopperlake');
export const ADMIN_TOKEN = 'it-admin-token-6f1d2c9a8b7e4f30';
export const READER_TOKEN = 'it-reader-token-0a9b8c7d6e5f4a31';

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

// What a sanitizer prints when it finds something.
export const SANITIZER_RE = /ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/;

export function psqlBin() {
  const pgBin = '/usr/lib/postgresql/15/bin/psql';
  return existsSync(pgBin) ? pgBin : 'psql';
}

// --- the cluster -------------------------------------------------------

let clusterPromise = null;

async function startCluster() {
  const fromEnv = process.env.SHOPPERLAKE_TEST_PG && process.env.SHOPPERLAKE_TEST_PG_PORT;
  const dir = fromEnv ? process.env.SHOPPERLAKE_TEST_PG : path.join(ROOT, 'var/test-pg');
  const port = fromEnv ? String(process.env.SHOPPERLAKE_TEST_PG_PORT) : '5439';
  // Not running (a file run by hand, or scripts/test's cluster gone): start
  // it, and stop it again when this file is done.
  const startedHere = !existsSync(path.join(dir, 'run', `.s.PGSQL.${port}`));
  if (startedHere) {
    await execFileP('bash', [path.join(ROOT, 'scripts/pg'), 'start', dir, port], { cwd: ROOT, timeout: 120_000 });
  }
  return { dir, port, socketDir: path.join(dir, 'run'), startedHere };
}

export function cluster() {
  clusterPromise ??= startCluster();
  return clusterPromise;
}

// Users of the cluster (each Lake holds it). When the last one lets go and
// this process started the cluster, it is stopped.
let clusterUsers = 0;

export async function holdCluster() {
  const c = await cluster();
  clusterUsers++;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--clusterUsers === 0 && c.startedHere) {
      clusterPromise = null;
      await execFileP('bash', [path.join(ROOT, 'scripts/pg'), 'stop', c.dir], { cwd: ROOT, timeout: 60_000 });
    }
  };
}

function dbUrl(c, db, user) {
  return `postgresql:///${db}?host=${encodeURIComponent(c.socketDir)}&port=${c.port}&user=${user}`;
}

// Runs SQL with psql over the cluster's unix socket; returns stdout (unaligned, tuples only).
// With `file`, sql is ignored and the file runs instead (for statements
// longer than one command-line argument may be).
export async function psql(sql, { db = 'postgres', user = 'postgres', file } = {}) {
  const c = await cluster();
  const { stdout } = await execFileP(
    psqlBin(),
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', dbUrl(c, db, user), ...(file ? ['-f', file] : ['-c', sql])],
    { timeout: 30_000, maxBuffer: 256 * 1024 * 1024 },
  );
  return stdout.trim();
}

// Databases of earlier runs whose process is gone (a crash, a kill -9).
async function dropOrphans() {
  const names = (await psql("SELECT datname FROM pg_database WHERE datname LIKE 'it\\_%'"))
    .split('\n')
    .filter(Boolean);
  for (const name of names) {
    const pid = Number(name.split('_')[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = e.code === 'EPERM';
    }
    if (!alive) await psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
  }
}

// --- a lake (one database) and its servers -----------------------------

let dbCounter = 0;

export class Lake {
  static async create(tag) {
    const release = await holdCluster();
    const c = await cluster();
    await dropOrphans();
    const slug = String(tag).toLowerCase().replace(/[^a-z0-9]+/g, '').slice(0, 20);
    const name = `it_${process.pid}_${slug}_${++dbCounter}_${randomBytes(3).toString('hex')}`;
    await psql(`CREATE DATABASE "${name}" OWNER lake`);
    return new Lake(c, name, release);
  }

  constructor(c, db, release) {
    this.cluster = c;
    this.releaseCluster = release;
    this.db = db;
    this.url = dbUrl(c, db, 'lake');
    this.tmp = mkdtempSync(path.join(os.tmpdir(), 'shopperlake-it-'));
    this.servers = new Set();
  }

  // SQL in this lake's database, as the superuser.
  sql(text) {
    return psql(text, { db: this.db });
  }

  // The environment a server gets: only ours, none inherited SHOPPERLAKE_*.
  // A value of null removes a variable.
  serverEnv(env = {}) {
    const base = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOPPERLAKE_')) base[k] = v;
    base.ASAN_OPTIONS ??= 'detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0';
    // Full stacks for leaks: jansson has no frame pointers, and a leak
    // report that stops in json_string() does not say which call leaked.
    if (!/fast_unwind_on_malloc/.test(base.ASAN_OPTIONS)) base.ASAN_OPTIONS += ':fast_unwind_on_malloc=0';
    base.UBSAN_OPTIONS ??= 'print_stacktrace=1:halt_on_error=1';
    Object.assign(base, {
      SHOPPERLAKE_HOME: ROOT,
      SHOPPERLAKE_PORT: '0',
      SHOPPERLAKE_LISTEN: '127.0.0.1',
      SHOPPERLAKE_DATABASE_URL: this.url,
      SHOPPERLAKE_ADMIN_TOKEN: ADMIN_TOKEN,
      SHOPPERLAKE_READER_TOKEN: READER_TOKEN,
      SHOPPERLAKE_WORKERS: '0',
      SHOPPERLAKE_BUCKET_DIR: path.join(this.tmp, 'bucket'),
      SHOPPERLAKE_LOG_LEVEL: 'info',
      // retention follows the scheduler's clock, which tests move years ahead:
      // only the tests of retention (monitoring.test.mjs) turn it on
      SHOPPERLAKE_RETENTION_INTERVAL: '0',
    });
    for (const [k, v] of Object.entries(env)) {
      if (v === null || v === undefined) delete base[k];
      else base[k] = String(v);
    }
    return base;
  }

  // Starts a server and waits for its "listening" line.
  async startServer({ env = {}, args = [] } = {}) {
    const srv = new Server(this, BIN, args, this.serverEnv(env));
    this.servers.add(srv);
    await srv.listening();
    return srv;
  }

  // Runs the binary to its exit (for start-up failures, --help): returns
  // { code, signal, stdout, stderr, logs }. Fails on a sanitizer report.
  async run({ env = {}, args = [], timeoutMs = 40_000 } = {}) {
    const srv = new Server(this, BIN, args, this.serverEnv(env));
    this.servers.add(srv);
    const exit = await srv.waitExit(timeoutMs);
    this.servers.delete(srv);
    srv.assertNoSanitizerReport();
    return { ...exit, stdout: srv.stdout, stderr: srv.stderr, logs: srv.logs };
  }

  // Stops what is still running, drops the database, removes temp files.
  async close() {
    const errors = [];
    for (const srv of this.servers) {
      try {
        await srv.stop();
      } catch (e) {
        errors.push(e);
      }
    }
    await psql(`DROP DATABASE IF EXISTS "${this.db}" WITH (FORCE)`).catch((e) => errors.push(e));
    rmSync(this.tmp, { recursive: true, force: true });
    await this.releaseCluster?.().catch((e) => errors.push(e));
    if (errors.length) throw errors[0];
  }
}

export class Server {
  constructor(lake, bin, args, env) {
    this.lake = lake;
    this.env = env;
    this.stdout = '';
    this.stderr = '';
    this.logs = [];
    this.exit = null; // { code, signal } once it exited
    this.stopping = false;
    this.port = null;
    this.proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => (this.stdout += d));
    let partial = '';
    this.proc.stderr.on('data', (d) => {
      this.stderr += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) this.#onLine(line);
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (e) => {
        this.exit = { code: null, signal: null, error: e };
        resolve(this.exit);
      });
      this.proc.on('close', (code, signal) => {
        if (partial) this.#onLine(partial);
        partial = '';
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
    });
    this.waiters = [];
  }

  #onLine(line) {
    if (!line.trim()) return;
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      obj = { _raw: line };
    }
    this.logs.push(obj);
    for (const w of [...this.waiters]) {
      if (w.pred(obj)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(obj);
      }
    }
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  // A description of the process for failure messages.
  describe() {
    const state = this.exit
      ? `exited (code ${this.exit.code}, signal ${this.exit.signal}${this.exit.error ? `, ${this.exit.error.message}` : ''})`
      : 'running';
    const report = this.sanitizerReport();
    const tail = this.stderr.split('\n').slice(-40).join('\n');
    return `server pid ${this.proc.pid} ${state}\n${report ? `--- sanitizer report ---\n${report}\n` : ''}--- stderr (tail) ---\n${tail}`;
  }

  sanitizerReport() {
    const m = SANITIZER_RE.exec(this.stderr);
    if (!m) return null;
    const start = this.stderr.lastIndexOf('\n', Math.max(0, m.index - 200)) + 1;
    return this.stderr.slice(start, start + 12_000);
  }

  assertNoSanitizerReport() {
    const report = this.sanitizerReport();
    if (report) assert.fail(`sanitizer report from the server (pid ${this.proc.pid}):\n${report}`);
  }

  // Resolves with the first log line (past or future) matching pred.
  waitForLog(pred, timeoutMs = 5_000) {
    const found = this.logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      const timer = setTimeout(() => {
        // matched already: its timer must not remove another waiter (indexOf -1 = the last one)
        if (!this.waiters.includes(w)) return;
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no log line matched within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      timer.unref();
      this.exited.then(() => {
        setImmediate(() => {
          if (this.waiters.includes(w)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            clearTimeout(timer);
            reject(new Error(`the server exited before a log line matched\n${this.describe()}`));
          }
        });
      });
    });
  }

  async listening() {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no "listening" line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    });
    try {
      const line = await Promise.race([this.waitForLog((l) => l.msg === 'listening', START_TIMEOUT_MS + 1000), timeout]);
      this.port = line.port;
      assert.ok(Number.isInteger(this.port) && this.port > 0, `bad port in ${JSON.stringify(line)}`);
    } catch (e) {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`the server did not start: ${e.message.split('\n')[0]}\n${this.describe()}`);
    } finally {
      clearTimeout(timer);
    }
    return this;
  }

  // Waits for the process to end (killing it after timeoutMs).
  async waitExit(timeoutMs) {
    let timer;
    const result = await Promise.race([
      this.exited,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (result) return result;
    this.proc.kill('SIGKILL');
    await this.exited;
    throw new Error(`the server did not exit within ${timeoutMs} ms; killed\n${this.describe()}`);
  }

  // SIGTERM, then exit code 0 within 10 s, and no sanitizer report.
  async stop({ timeoutMs = STOP_TIMEOUT_MS } = {}) {
    this.lake?.servers.delete(this);
    if (!this.exit) {
      this.stopping = true;
      this.proc.kill('SIGTERM');
    }
    const exit = await this.waitExit(timeoutMs);
    this.assertNoSanitizerReport();
    assert.ok(this.stopping, `the server had exited on its own before stop()\n${this.describe()}`);
    assert.deepEqual(
      { code: exit.code, signal: exit.signal },
      { code: 0, signal: null },
      `the server did not exit cleanly after SIGTERM\n${this.describe()}`,
    );
    return exit;
  }

  // One HTTP request with fetch. opts: token ('admin' | 'reader' | null |
  // a literal token; default 'admin'), body (sent as JSON), rawBody (sent as
  // is), headers, timeoutMs. Returns { status, headers, text, body }: body is
  // the parsed JSON when the response is JSON.
  async request(method, urlPath, { token = 'admin', body, rawBody, headers = {}, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    const h = { ...headers };
    const auth = token === 'admin' ? ADMIN_TOKEN : token === 'reader' ? READER_TOKEN : token;
    if (auth) h.authorization = `Bearer ${auth}`;
    let payload;
    if (rawBody !== undefined) payload = rawBody;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    }
    let res;
    try {
      res = await fetch(this.url + urlPath, {
        method,
        headers: h,
        body: payload,
        ...(payload instanceof ReadableStream ? { duplex: 'half' } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      // A crash (a sanitizer abort) shows as a failed request: give the
      // process a moment to exit so the message carries its report.
      await Promise.race([this.exited, sleep(2_000)]);
      throw new Error(`${method} ${urlPath} failed: ${e.cause?.code ?? ''} ${e.cause?.message ?? e.message}\n${this.describe()}`);
    }
    const text = await res.text();
    return parseResponse(res.status, res.headers, text);
  }

  // A request checked against the spec: fills {params} of the path template,
  // adds the query, asserts the status and that the response matches the
  // operation's documented response. Returns the response.
  async call(method, template, status, { params = {}, query, ...opts } = {}) {
    const res = await this.request(method, expand(template, params, query), opts);
    assertMatchesSpec(method, template, status, res, res.body);
    return res;
  }

  // A request written byte by byte over a socket (for what fetch cannot or
  // will not send). With bodyAfterResponse, the body is only sent after the
  // response began (a server that answers before reading the body closes the
  // connection; writing first would lose the answer to a reset).
  async raw(head, { body = null, bodyAfterResponse = false, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    return rawHttp(this.port, head, { body, bodyAfterResponse, timeoutMs }).catch((e) => {
      throw new Error(`${e.message}\n${this.describe()}`);
    });
  }
}

export function expand(template, params = {}, query) {
  let p = template.replace(/\{(\w+)\}/g, (_, name) => {
    assert.ok(name in params, `no value for {${name}} in ${template}`);
    return encodeURIComponent(String(params[name]));
  });
  if (query && Object.keys(query).length) p += `?${new URLSearchParams(query)}`;
  return p;
}

function parseResponse(status, headers, text) {
  const ctype = headers.get('content-type') ?? '';
  let body = null;
  if (/^application\/([a-z+.-]*\+)?json\b/i.test(ctype) && text.length) {
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new Error(`the ${status} response claims ${ctype} but is not JSON: ${e.message}\n${text.slice(0, 500)}`);
    }
  }
  return { status, headers, text, body };
}

function rawHttp(port, head, { body, bodyAfterResponse, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let settled = false;
    let writeError = null;
    const timer = setTimeout(() => finish(new Error(`raw request: no complete response within ${timeoutMs} ms`)), timeoutMs);

    function tryParse() {
      const buf = Buffer.concat(chunks);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
      if (!m) return { error: new Error(`raw request: bad status line ${lines[0]}`) };
      const headers = new Headers();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
      }
      const len = Number(headers.get('content-length') ?? 0);
      const rest = buf.subarray(end + 4);
      if (rest.length < len) return null;
      return { res: parseResponse(Number(m[1]), headers, rest.subarray(0, len).toString('utf8')) };
    }

    function finish(err, res) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(res);
    }

    async function sendBody() {
      if (body === null) return;
      const CHUNK = 64 * 1024;
      for (let off = 0; off < body.length && !settled && !writeError; off += CHUNK) {
        const ok = sock.write(body.subarray(off, off + CHUNK));
        if (!ok) await new Promise((r) => sock.once('drain', r).once('close', r));
      }
    }

    let bodySent = false;
    sock.on('data', (d) => {
      chunks.push(d);
      if (bodyAfterResponse && !bodySent) {
        bodySent = true;
        sendBody().catch(() => {});
      }
      const p = tryParse();
      if (p?.error) finish(p.error);
      else if (p?.res) {
        p.res.bodyWriteError = writeError;
        // Give a late body write the chance to fail or finish first.
        setImmediate(() => finish(null, p.res));
      }
    });
    sock.on('error', (e) => {
      writeError = e;
      // A reset after the full response arrived is fine; otherwise report.
      const p = tryParse();
      if (p?.res) finish(null, { ...p.res, bodyWriteError: e });
      else finish(new Error(`raw request: ${e.code ?? e.message} before a full response arrived`));
    });
    sock.on('close', () => {
      const p = tryParse();
      if (p?.res) finish(null, p.res);
      else finish(new Error('raw request: connection closed before a full response arrived'));
    });
    sock.on('connect', () => {
      sock.write(Buffer.isBuffer(head) ? head : Buffer.from(head, 'latin1'));
      if (!bodyAfterResponse) sendBody().catch(() => {});
    });
  });
}

// The number of migration files the server applies (sql/migrations/NNNN_*.sql).
export async function migrationCount(home = ROOT) {
  const { readdirSync } = await import('node:fs');
  return readdirSync(path.join(home, 'sql/migrations')).filter((n) => /^\d{4}_.+\.sql$/.test(n)).length;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
