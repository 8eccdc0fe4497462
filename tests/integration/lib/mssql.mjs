// Helpers for tests of the sqlserver source kind against mssql-sim
// (tests/fixtures/mssql, a TDS 7.4 server): start and stop a simulator on a
// free port, run T-SQL on it through tedious (an independent TDS client, so
// the tests do not check FreeTDS with FreeTDS), read its truth dump
// (EXEC sim.dump), and build the connection secret the lake reads.
//
// Every wait here has a deadline.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { ROOT } from './harness.mjs';

const require = createRequire(path.join(ROOT, 'package.json'));
const { Connection, Request } = require('tedious');

export const MSSQL_SIM_BIN =
  process.env.MSSQL_SIM || path.join(path.dirname(process.env.SHOPPERLAKE_BIN || path.join(ROOT, 'build-test/shopperlake')), 'tests/fixtures/mssql/mssql-sim');

export const MSSQL_USER = 'sa';
export const MSSQL_PASSWORD = 'Shopper#2026-it';
const START_TIMEOUT_MS = 15_000;

export class MssqlSim {
  // Starts mssql-sim on a free port; args are extra flags (['--sales', 500]).
  static async start(args = []) {
    assert.ok(existsSync(MSSQL_SIM_BIN), `no simulator at ${MSSQL_SIM_BIN}: run meson compile -C build-test`);
    const sim = new MssqlSim(['--port', '0', '--user', MSSQL_USER, '--password', MSSQL_PASSWORD, ...args.map(String)]);
    await sim.ready;
    return sim;
  }

  constructor(args) {
    this.stdout = '';
    this.stderr = '';
    this.conns = [];
    this.proc = spawn(MSSQL_SIM_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d) => (this.stderr = (this.stderr + d).slice(-20_000)));
    this.exited = new Promise((resolve) => this.proc.on('close', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`mssql-sim did not print its port within ${START_TIMEOUT_MS} ms\n${this.stderr}`));
      }, START_TIMEOUT_MS);
      this.proc.stdout.on('data', (d) => {
        this.stdout += d;
        const nl = this.stdout.indexOf('\n');
        if (nl < 0 || this.port) return;
        clearTimeout(timer);
        this.port = JSON.parse(this.stdout.slice(0, nl)).port;
        resolve(this);
      });
      this.exited.then((e) => {
        clearTimeout(timer);
        if (!this.port) reject(new Error(`mssql-sim exited (${JSON.stringify(e)}) before listening\n${this.stderr}`));
      });
    });
  }

  // The connection secret's value (the form jobs/sources/sqlserver/conn.h documents).
  url({ password = MSSQL_PASSWORD, database = 'marketplace', query = '' } = {}) {
    return `sqlserver://${MSSQL_USER}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}${query}`;
  }

  // A tedious session; closed by stop().
  connect() {
    return new Promise((resolve, reject) => {
      const conn = new Connection({
        server: '127.0.0.1',
        authentication: { type: 'default', options: { userName: MSSQL_USER, password: MSSQL_PASSWORD } },
        options: { port: this.port, encrypt: false, database: 'marketplace', useUTC: true,
          connectTimeout: 10_000, requestTimeout: 60_000, cancelTimeout: 5_000 },
      });
      conn.on('connect', (err) => {
        if (err) return reject(err);
        this.conns.push(conn);
        resolve(conn);
      });
      conn.on('error', () => {});
      conn.connect();
    });
  }

  // Runs a batch on `conn` (default: a shared session); resolves the rows
  // as arrays of values.
  async sql(text, conn) {
    conn ??= this.shared ??= await this.connect();
    return new Promise((resolve, reject) => {
      const rows = [];
      const req = new Request(text, (err) => (err ? reject(err) : resolve(rows)));
      req.on('row', (cols) => rows.push(cols.map((c) => c.value)));
      conn.execSqlBatch(req);
    });
  }

  // The truth of dbo.<table> now: { header: [...], rows: [[text or null]] },
  // parsed from sim.dump's CSV lines (an empty field is NULL, "" is '').
  async dump(table) {
    const lines = (await this.sql(`EXEC sim.dump @table = N'${table}'`)).map((r) => r[0]);
    const parse = (line) => {
      const out = [];
      let i = 0;
      while (i <= line.length) {
        if (line[i] === '"') {
          let v = '';
          i++;
          for (;;) {
            const q = line.indexOf('"', i);
            if (line[q + 1] === '"') {
              v += line.slice(i, q + 1);
              i = q + 2;
            } else {
              v += line.slice(i, q);
              i = q + 2;
              break;
            }
          }
          out.push(v);
        } else {
          let c = line.indexOf(',', i);
          if (c < 0) c = line.length;
          const v = line.slice(i, c);
          out.push(v === '' ? null : v);
          i = c + 1;
        }
      }
      return out;
    };
    return { header: parse(lines[0]), rows: lines.slice(1).map(parse) };
  }

  async stop() {
    for (const c of this.conns) c.close();
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const r = await Promise.race([this.exited, new Promise((res) => setTimeout(() => res('timeout'), 5000))]);
      if (r === 'timeout') this.proc.kill('SIGKILL');
    }
    await this.exited;
  }
}
