// SFTP sources against a real OpenSSH sshd (tests/fixtures/sftp/sshd.sh:
// loopback, a generated host key, a test user, internal-sftp): CSV dialects
// and encodings, malformed rows to the rejects table, a replaced file, a
// file still being written, a connection dropped mid-transfer, and a host
// key that is not the trusted one. Each test reads its own remote directory
// and its own source, so they do not see each other's files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import { Lake, ROOT, sleep } from './lib/harness.mjs';
import { poll, startLoad, waitJob } from './lib/marketplace.mjs';

const execFileP = promisify(execFile);
const SSHD = path.join(ROOT, 'tests/fixtures/sftp/sshd.sh');

let lake;
let srv;
let sshDir;
let sshPort;
let knownHost;
let seq = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function sshd(...args) {
  const { stdout } = await execFileP('bash', [SSHD, ...args], { timeout: 30_000 });
  return stdout.trim();
}

before(async () => {
  sshDir = mkdtempSync(path.join(os.tmpdir(), 'shopperlake-sftp-'));
  chmodSync(sshDir, 0o755);
  sshPort = await freePort();
  knownHost = await sshd('start', sshDir, String(sshPort));
  assert.match(knownHost, /^ssh-ed25519 AAAA/);
  lake = await Lake.create('sftp');
  srv = await lake.startServer({
    env: { SHOPPERLAKE_WORKERS: '1', LAKE_SECRET_SFTP_TEST_PASSWORD: 'not-used-the-key-is', SHOPPERLAKE_HEARTBEAT_SECS: '1' },
  });
});

after(async () => {
  if (sshDir) await sshd('stop', sshDir).catch(() => {});
  await lake?.close();
  if (sshDir) rmSync(sshDir, { recursive: true, force: true });
});

// A remote directory of the test's own, with the given files ({name: Buffer|string}).
function remoteDir(files = {}) {
  const dir = path.join(sshDir, 'files', `t${++seq}`);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

const ESTOQUE = [
  { name: 'sku', type: 'text', key: true },
  { name: 'deposito', type: 'text', key: true },
  { name: 'quantidade', type: 'integer' },
  { name: 'preco', type: 'numeric(12,2)' },
  { name: 'data_referencia', type: 'date' },
];

// Registers an sftp source reading `dir`; returns it.
async function sftpSource(dir, options = {}, columns = ESTOQUE) {
  const object = `arq${seq}_${Math.floor(Math.random() * 1e6)}`;
  const res = await srv.request('POST', '/v1/sources', {
    body: {
      system: 'parceiros',
      source_type: 'sftp',
      database: 'sftp',
      object,
      connection_secret: 'env:LAKE_SECRET_SFTP_TEST_PASSWORD',
      load_type: 'incremental',
      columns,
      options: {
        host: '127.0.0.1',
        port: sshPort,
        user: await sftpUser(),
        private_key_file: path.join(sshDir, 'client_key'),
        known_host: knownHost,
        directory: dir,
        pattern: '*.csv',
        max_retries: 2,
        timeout_seconds: 10,
        ...options,
      },
    },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

let userCache;
async function sftpUser() {
  userCache ??= JSON.parse(await sshd('info', sshDir)).user;
  return userCache;
}

async function load(source, { expect = 'JOB_STATE_DONE', loadType = 'incremental', timeoutMs = 60_000 } = {}) {
  const job = await startLoad(srv, source.id, loadType);
  const done = await waitJob(srv, job.id, { timeoutMs });
  if (expect) assert.equal(done.state, expect, `job ${done.name}: ${done.state} ${done.error ?? ''}`);
  return done;
}

const table = (s) => `${s.system}_${s.object}`;

// Rows a source landed; 0 when nothing was committed. A load's LAND
// partition is RAW's once it commits, so they are counted in both.
async function landCount(s) {
  let n = 0;
  for (const layer of ['land', 'raw']) {
    const exists = await lake.sql(`SELECT to_regclass('${layer}.${table(s)}') IS NOT NULL`);
    if (exists === 't') n += Number(await lake.sql(`SELECT count(*) FROM ${layer}.${table(s)}`));
  }
  return n;
}

async function rows(sql) {
  const out = await lake.sql(sql);
  return out ? out.split('\n') : [];
}

// CR and LF inside values shown as \r and \n, so that one row stays one line
const trusted = (s) =>
  rows(
    `SELECT sku, replace(replace(deposito, E'\\r', '\\r'), E'\\n', '\\n'), quantidade, preco, data_referencia ` +
      `FROM trusted.${table(s)} ORDER BY 1, 2`,
  );
const rejects = (s) => rows(`SELECT line, reason FROM land.${table(s)}_rejects ORDER BY _job_id, file, line`);

// The bucket directory of a source for today (UTC).
function bucketDir(s) {
  const day = new Date().toISOString().slice(0, 10);
  return path.join(lake.tmp, 'bucket', s.system, s.object, `dt=${day}`);
}

describe('dialects', () => {
  test('semicolons, BOM, CRLF, quotes with delimiters and newlines, decimal comma, DD/MM/YYYY', async () => {
    const csv =
      '\ufeffSKU;Depósito;Quantidade;Preço;Data Referência\r\n' +
      'SKU-000001;SP01;1.200;1.234,56;01/12/2024\r\n' +
      '"SKU-000002";"SP;02";"7";"9,90";"2/12/2024"\r\n' +
      '"SKU-000003";"linha 1\r\nlinha 2";3;0,5;31/12/2024\r\n' +
      '  SKU-000004  ;  RJ01  ; 4 ;  ;01/01/2025\r\n';
    const s = await sftpSource(remoteDir({ 'estoque.csv': csv }), {
      delimiter: ';',
      decimal_comma: true,
      date_format: 'DD/MM/YYYY',
    });
    const job = await load(s);
    assert.equal(job.rows_written, 4);
    assert.deepEqual(await trusted(s), [
      'SKU-000001|SP01|1200|1234.56|2024-12-01',
      'SKU-000002|SP;02|7|9.90|2024-12-02',
      'SKU-000003|linha 1\\r\\nlinha 2|3|0.50|2024-12-31',
      'SKU-000004|RJ01|4||2025-01-01',
    ]);
    assert.deepEqual(await rejects(s), []);
    // lineage: the bucket file and the line each row started on
    assert.deepEqual(await rows(`SELECT _file, _line FROM raw.${table(s)} ORDER BY _line`), [
      'estoque.csv|2',
      'estoque.csv|3',
      'estoque.csv|4',
      'estoque.csv|6',
    ]);
    // the version of each row: control.files.id = sys_change_version / 10^9
    assert.equal(
      await lake.sql(`SELECT count(*) FROM raw.${table(s)} l JOIN control.files f ON f.id = l.sys_change_version / 1000000000 AND f.name = l._file`),
      '4',
    );
    const files = await rows(`SELECT name, rows_landed, bucket_path FROM control.files WHERE source_id = ${s.id}`);
    assert.equal(files.length, 1);
    const [name, landed, bucketPath] = files[0].split('|');
    assert.equal(name, 'estoque.csv');
    assert.equal(landed, '4');
    assert.equal(bucketPath, path.join(bucketDir(s), 'estoque.csv'));
    assert.ok(existsSync(bucketPath));
  });

  test('tabs without a header, a single-quote quote, ISO dates', async () => {
    const tsv = "A-1\tCD\t10\t1.5\t2024-12-01\n'A\t2'\tCD\t\t\t2024-12-02\n";
    const s = await sftpSource(remoteDir({ 'e.csv': tsv }), { delimiter: '\t', quote: "'", header: false });
    await load(s);
    assert.deepEqual(await trusted(s), ['A\t2|CD|||2024-12-02', 'A-1|CD|10|1.50|2024-12-01']);
  });

  test('header columns in another order, extra columns ignored, commas', async () => {
    const csv = 'data_referencia,extra,preco,quantidade,deposito,sku\n2024-12-01,x,"1,000.00",5,MG,S1\n2024-12-01,y,2.5,6,MG,S2\n';
    const s = await sftpSource(remoteDir({ 'e.csv': csv }));
    const job = await load(s);
    assert.equal(job.rows_written, 2);
    // "1,000.00" is not a numeric without decimal_comma: TRUSTED quarantines it
    assert.deepEqual(await trusted(s), ['S2|MG|6|2.50|2024-12-01']);
    const q = await rows(`SELECT column_name, value FROM trusted.${table(s)}_quarantine`);
    assert.deepEqual(q, ['preco|1,000.00']);
  });
});

describe('encodings', () => {
  test('latin-1 and windows-1252 become UTF-8; bytes that are no character are rejected', async () => {
    const latin1 = Buffer.from('sku;deposito;quantidade;preco;data_referencia\nCAF\xC9-1;S\xE3o Paulo;1;2;2024-12-01\n', 'latin1');
    const s1 = await sftpSource(remoteDir({ 'l.csv': latin1 }), { delimiter: ';', encoding: 'latin-1' });
    await load(s1);
    assert.deepEqual(await trusted(s1), ['CAFÉ-1|São Paulo|1|2.00|2024-12-01']);

    const cp = Buffer.concat([
      Buffer.from('sku;deposito;quantidade;preco;data_referencia\n', 'latin1'),
      Buffer.from([0x80, ...Buffer.from('-1;Bras\xEDlia;1;2;2024-12-01\n', 'latin1')]),
      Buffer.from([...Buffer.from('X-2;Ru', 'latin1'), 0x81, ...Buffer.from('m;1;2;2024-12-01\n', 'latin1')]),
      Buffer.from('X-3;ok;1;2;2024-12-01\n'),
      Buffer.from('X-4;ok;1;2;2024-12-01\n'),
      Buffer.from('X-5;ok;1;2;2024-12-01\n'),
      Buffer.from('X-6;ok;1;2;2024-12-01\n'),
      Buffer.from('X-7;ok;1;2;2024-12-01\n'),
      Buffer.from('X-8;ok;1;2;2024-12-01\n'),
      Buffer.from('X-9;ok;1;2;2024-12-01\n'),
      Buffer.from('X-10;ok;1;2;2024-12-01\n'),
    ]);
    const s2 = await sftpSource(remoteDir({ 'w.csv': cp }), { delimiter: ';', encoding: 'windows-1252' });
    const job = await load(s2);
    assert.equal(job.rows_written, 9);
    if ('rows_rejected' in job) assert.equal(job.rows_rejected, 1);
    assert.ok((await trusted(s2)).includes('€-1|Brasília|1|2.00|2024-12-01'));
    assert.deepEqual(await rejects(s2), ['3|byte 0x81 is not a Windows-1252 character (column deposito, byte 3 of the value)']);
    assert.deepEqual(await rows(`SELECT raw FROM land.${table(s2)}_rejects`), ['X-2;Ru\\x81m;1;2;2024-12-01']);
  });

  test('invalid UTF-8 is rejected with its line', async () => {
    const good = Array.from({ length: 20 }, (_, i) => `U-${i};D;1;1;2024-12-01\n`).join('');
    const bad = Buffer.concat([Buffer.from(`sku,deposito,quantidade,preco,data_referencia\n${good}`.replaceAll(';', ',')), Buffer.from([0x42, 0xe9, 0x2c]), Buffer.from('D,1,1,2024-12-01\n')]);
    const s = await sftpSource(remoteDir({ 'u.csv': bad }));
    await load(s);
    assert.equal((await trusted(s)).length, 20);
    assert.deepEqual(await rejects(s), ['22|byte 0xE9 is not valid UTF-8 (column sku, byte 2 of the value)']);
  });
});

describe('malformed rows', () => {
  test('rows that do not fit go to the rejects table with file, line, raw text and reason', async () => {
    const lines = ['sku,deposito,quantidade,preco,data_referencia'];
    for (let i = 1; i <= 30; i++) lines.push(`M-${i},D,${i},1,2024-12-01`);
    lines[5] = 'M-5,D,5';                       // line 6: too few fields
    lines[10] = 'M-10,D,10,1,2024-12-01,extra'; // line 11: too many
    lines[15] = 'M-15,"D"x,15,1,2024-12-01';    // line 16: text after a closing quote
    const s = await sftpSource(remoteDir({ 'm.csv': lines.join('\n') + '\n' }));
    const job = await load(s);
    assert.equal(job.rows_written, 27);
    if ('rows_rejected' in job) assert.equal(job.rows_rejected, 3);
    const got = await rows(`SELECT file, line, raw, reason FROM land.${table(s)}_rejects ORDER BY line`);
    const file = 'm.csv';
    assert.deepEqual(got, [
      `${file}|6|M-5,D,5|expected 5 fields, found 3`,
      `${file}|11|M-10,D,10,1,2024-12-01,extra|expected 5 fields, found 6`,
      `${file}|16|M-15,"D"x,15,1,2024-12-01|malformed quoting (a quote inside an unquoted field, or text after a closing quote)`,
    ]);
    assert.deepEqual(await rows(`SELECT DISTINCT _job_id FROM land.${table(s)}_rejects`), [String(job.id)]);
  });

  test('more rejects than max_reject_pct fail the load and land nothing', async () => {
    const csv = 'sku,deposito,quantidade,preco,data_referencia\nA,D,1,1,2024-12-01\nB,D\nC,D\nE,D,1,1,2024-12-01\n';
    const s = await sftpSource(remoteDir({ 'bad.csv': csv }), { max_reject_pct: 10 });
    const job = await load(s, { expect: 'JOB_STATE_FAILED' });
    assert.equal(job.attempt, 1, 'a permanent failure is not retried');
    assert.match(job.error, /bad\.csv: 2 of 4 rows rejected \(50\.0 %\), more than options\.max_reject_pct \(10 %\); first: line 3: expected 5 fields, found 2/);
    assert.equal(await landCount(s), 0);
    assert.equal(await lake.sql(`SELECT count(*) FROM control.files WHERE source_id = ${s.id}`), '0');
  });

  test('a header without a declared column fails the load with its name', async () => {
    const s = await sftpSource(remoteDir({ 'h.csv': 'sku,deposito,qtd,preco,data_referencia\nA,B,1,2,2024-12-01\n' }));
    const job = await load(s, { expect: 'JOB_STATE_FAILED' });
    assert.match(job.error, /h\.csv: the header has no column quantidade \(it has: sku, deposito, qtd, preco, data_referencia\)/);
  });
});

describe('files that change', () => {
  test('a file loaded once is not loaded again; a replaced one is a new version that wins', async () => {
    const dir = remoteDir({
      'estoque_1.csv': 'sku,deposito,quantidade,preco,data_referencia\nA,D,1,1.00,2024-12-01\nB,D,2,2.00,2024-12-01\n',
    });
    const s = await sftpSource(dir);
    const first = await load(s);
    assert.equal(first.rows_written, 2);

    const again = await load(s);
    assert.equal(again.rows_written, 0, 'nothing new');
    assert.equal(await lake.sql(`SELECT count(*) FROM control.files WHERE source_id = ${s.id}`), '1');

    // touched but not changed: recorded as the same content, nothing lands
    const f = path.join(dir, 'estoque_1.csv');
    const later = new Date(Date.now() + 5000);
    utimesSync(f, later, later);
    const touched = await load(s);
    assert.equal(touched.rows_written, 0);
    assert.equal(await lake.sql(`SELECT count(*) FROM control.files WHERE source_id = ${s.id} AND same_as IS NOT NULL`), '1');

    // replaced with new contents
    writeFileSync(f, 'sku,deposito,quantidade,preco,data_referencia\nA,D,10,1.50,2024-12-02\nC,D,3,3.00,2024-12-02\n');
    const replaced = await load(s);
    assert.equal(replaced.rows_written, 2);
    assert.deepEqual(await trusted(s), ['A|D|10|1.50|2024-12-02', 'B|D|2|2.00|2024-12-01', 'C|D|3|3.00|2024-12-02']);
    const versions = await rows(`SELECT bucket_path FROM control.files WHERE source_id = ${s.id} AND same_as IS NULL ORDER BY id`);
    assert.equal(versions.length, 2);
    assert.notEqual(versions[0], versions[1], 'both versions are kept in the bucket');
    for (const v of versions) assert.ok(existsSync(v), v);
    assert.equal((await load(s)).rows_written, 0);
  });

  test('a new file lands while it downloads; a new version of a known one, or stream: false, lands from the bucket', async () => {
    const csv = (q) => `sku,deposito,quantidade,preco,data_referencia\nS1,D,${q},1.00,2024-12-01\nS2,D,2,2.00,2024-12-01\n`;
    const dir = remoteDir({ 'a_1.csv': csv(1), 'b_1.csv': csv(5) });
    const s = await sftpSource(dir);
    const landedLines = (job) => srv.logs.filter((l) => l.msg === 'sftp file landed' && l.job_id === job.id)
      .map((l) => `${l.file}:${l.streamed}:${l.rows}`).sort();
    const first = await load(s);
    assert.equal(first.rows_written, 4);
    // the job's first file streams; the second lands from the bucket (its LAND partition is no longer empty)
    assert.deepEqual(landedLines(first), ['a_1.csv:true:2', 'b_1.csv:false:2']);
    const shas = await rows(`SELECT name || ' ' || sha256 FROM control.files WHERE source_id = ${s.id} ORDER BY name`);
    for (const [name, body] of [['a_1.csv', csv(1)], ['b_1.csv', csv(5)]]) {
      const want = createHash('sha256').update(body).digest('hex');
      assert.ok(shas.includes(`${name} ${want}`), `${name}'s recorded SHA-256 is its content's: ${shas}`);
      assert.ok(existsSync(path.join(bucketDir(s), name)), `${name} kept in the bucket`);
    }
    // a new version of a known file is downloaded first: it may repeat the old one
    writeFileSync(path.join(dir, 'a_1.csv'), csv(7));
    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(dir, 'a_1.csv'), later, later);
    const second = await load(s);
    assert.deepEqual(landedLines(second), ['a_1.csv:false:2']);
    // stream: false downloads every file whole first
    const off = await sftpSource(remoteDir({ 'c_1.csv': csv(9) }), { stream: false });
    assert.deepEqual(landedLines(await load(off)), ['c_1.csv:false:2']);
    assert.deepEqual(await trusted(s), ['S1|D|7|1.00|2024-12-01', 'S2|D|2|2.00|2024-12-01']);
  });

  test('a file still growing is left for the next load', async () => {
    const dir = remoteDir();
    const f = path.join(dir, 'growing.csv');
    const header = 'sku,deposito,quantidade,preco,data_referencia\n';
    const block = Array.from({ length: 2000 }, (_, i) => `G-${i},D,1,1,2024-12-01\n`).join('');
    writeFileSync(f, header + block.repeat(20));
    const s = await sftpSource(dir);
    // keep appending while the load runs
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        appendFileSync(f, `W-${n++},D,1,1,2024-12-01\n`);
        await sleep(2);
      }
    })();
    const job = await startLoad(srv, s.id, 'incremental');
    const done = await waitJob(srv, job.id);
    writing = false;
    await writer;
    assert.equal(done.state, 'JOB_STATE_DONE', done.error ?? '');
    assert.equal(done.rows_written, 0, 'a half-written file must not land');
    assert.equal(await lake.sql(`SELECT count(*) FROM control.files WHERE source_id = ${s.id}`), '0');
    assert.ok(srv.logs.some((l) => l.msg === 'sftp file still changing; left for the next load' && l.job_id === job.id));
    assert.deepEqual(readdirSync(bucketDir(s)).filter((x) => x.endsWith('.part')), []);

    // finished: the next load takes all of it
    const next = await load(s);
    assert.equal(next.rows_written, 40000 + n);
  });

  test('an empty file waits without blocking the files beside it (issue 16 item 4)', async () => {
    const dir = remoteDir({
      'a_good.csv': 'sku,deposito,quantidade,preco,data_referencia\nE1,D,1,1,2024-12-01\n',
      'b_empty.csv': '',
    });
    const s = await sftpSource(dir);
    const first = await load(s);
    assert.equal(first.rows_written, 1, 'the good file landed');
    assert.equal(await lake.sql(`SELECT count(*) FROM control.files WHERE source_id = ${s.id}`), '1', 'the empty one is not recorded');
    // the partner finishes writing it: the next load takes it
    writeFileSync(path.join(dir, 'b_empty.csv'), 'sku,deposito,quantidade,preco,data_referencia\nE2,D,2,2,2024-12-01\n');
    const later = new Date(Date.now() + 2000);
    utimesSync(path.join(dir, 'b_empty.csv'), later, later);
    assert.equal((await load(s)).rows_written, 1);
  });

  test('files younger than min_age_seconds wait', async () => {
    const dir = remoteDir({ 'young.csv': 'sku,deposito,quantidade,preco,data_referencia\nY,D,1,1,2024-12-01\n' });
    const s = await sftpSource(dir, { min_age_seconds: 600 });
    assert.equal((await load(s)).rows_written, 0);
    const old = new Date(Date.now() - 3600_000);
    utimesSync(path.join(dir, 'young.csv'), old, old);
    assert.equal((await load(s)).rows_written, 1);
  });
});

describe('faults', () => {
  // A file big enough that a transfer can be cut midway on loopback.
  function bigFile(dir, rowsN) {
    const header = 'sku,deposito,quantidade,preco,data_referencia\n';
    const pad = 'x'.repeat(900);
    const chunk = [];
    for (let i = 0; i < rowsN; i++) chunk.push(`B-${i},${pad},1,1,2024-12-01\n`);
    writeFileSync(path.join(dir, 'big.csv'), header + chunk.join(''));
  }

  async function waitPart(s) {
    return poll(
      () => {
        const d = bucketDir(s);
        if (!existsSync(d)) return null;
        const part = readdirSync(d).find((x) => x.endsWith('.part'));
        return part && statSync(path.join(d, part)).size > 256 * 1024 ? part : null;
      },
      { timeoutMs: 20_000, intervalMs: 2, what: 'a download in progress' },
    );
  }

  test('a connection dropped mid-transfer is retried; the file lands once, whole', async () => {
    const dir = remoteDir();
    bigFile(dir, 60_000);
    const s = await sftpSource(dir);
    const job = await startLoad(srv, s.id, 'incremental');
    await waitPart(s);
    await sshd('drop', sshDir); // kills the session, the daemon stays
    const done = await waitJob(srv, job.id, { timeoutMs: 120_000 });
    assert.equal(done.state, 'JOB_STATE_DONE', done.error ?? '');
    assert.equal(done.rows_written, 60_000);
    assert.ok(srv.logs.some((l) => l.msg === 'sftp transfer failed; retrying' && l.job_id === job.id), 'a retry was logged');
    assert.equal(await lake.sql(`SELECT count(*), count(DISTINCT sku) FROM raw.${table(s)}`), '60000|60000');
    assert.deepEqual(readdirSync(bucketDir(s)), ['big.csv']);
  });

  test('a server gone mid-transfer fails the attempt cleanly; the retry loads it', async () => {
    const dir = remoteDir();
    bigFile(dir, 60_000);
    const s = await sftpSource(dir, { max_retries: 0 });
    const job = await startLoad(srv, s.id, 'incremental');
    await waitPart(s);
    await sshd('stop', sshDir);
    try {
      const failed = await waitJob(srv, job.id, { pred: (j) => j.attempt >= 1 && j.error, timeoutMs: 60_000 });
      assert.match(failed.error, /^sftp 127\.0\.0\.1:\d+ big\.csv, after 1 attempt: /);
      assert.equal(await landCount(s), 0, 'nothing half-landed');
      assert.deepEqual(readdirSync(bucketDir(s)), [], 'no partial file in the bucket');
    } finally {
      await sshd('start', sshDir, String(sshPort));
    }
    const done = await waitJob(srv, job.id, { timeoutMs: 120_000 });
    assert.equal(done.state, 'JOB_STATE_DONE', done.error ?? '');
    assert.ok(done.attempt >= 2);
    assert.equal(done.rows_written, 60_000);
    assert.equal(await lake.sql(`SELECT count(*) FROM raw.${table(s)}`), '60000');
  });

  test('a host key that is not the trusted one is refused', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'shopperlake-otherkey-'));
    try {
      await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(other, 'k')]);
      const { readFileSync } = await import('node:fs');
      const wrong = readFileSync(path.join(other, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
      const s = await sftpSource(remoteDir({ 'x.csv': 'sku,deposito,quantidade,preco,data_referencia\nA,D,1,1,2024-12-01\n' }), {
        known_host: wrong,
      });
      const job = await load(s, { expect: 'JOB_STATE_FAILED' });
      assert.equal(job.attempt, 1, 'a refused host key is not retried');
      assert.match(job.error, /the server's host key \(ssh-ed25519 SHA256:[A-Za-z0-9+/]+\) is not options\.known_host \(ssh-ed25519 SHA256:[A-Za-z0-9+/]+\); refused/);
      assert.equal(await lake.sql(`SELECT count(*) FROM control.files WHERE source_id = ${s.id}`), '0');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  test('a source without known_host is refused: when written, or else when loaded', async () => {
    const res = await srv.request('POST', '/v1/sources', {
      body: {
        system: 'parceiros', source_type: 'sftp', database: 'sftp', object: `nokey${seq}`,
        connection_secret: 'env:LAKE_SECRET_SFTP_TEST_PASSWORD', load_type: 'incremental', columns: ESTOQUE,
        options: { host: '127.0.0.1', port: sshPort, user: await sftpUser(), directory: remoteDir() },
      },
    });
    if (res.status === 422) {
      assert.equal(res.body.field, 'options.known_host');
      return;
    }
    assert.equal(res.status, 201, res.text);
    const job = await load(res.body, { expect: 'JOB_STATE_FAILED' });
    assert.equal(job.attempt, 1);
    assert.match(job.error, /options\.known_host is required/);
  });
});

describe('quarantine', () => {
  // columns named like the merge's own aliases (b, t): the whole-row
  // reference of the quarantine once read column b instead of the row, and
  // the load failed on the bad value instead of keeping it aside
  test('a value that does not cast is quarantined, whatever the columns are named', async () => {
    const columns = [
      { name: 'id', type: 'bigint', key: true },
      { name: 'n', type: 'numeric(12,2)' },
      { name: 'b', type: 'boolean' },
      { name: 't', type: 'text' },
    ];
    const csv = 'id,n,b,t\n1,12345678901,t,x\n2,1.5,f,y\n3,abc,yes,z\n';
    const s = await sftpSource(remoteDir({ 'a.csv': csv }), {}, columns);
    await load(s);
    assert.deepEqual(await rows(`SELECT id, n, b, t FROM trusted.${table(s)} ORDER BY id`), ['2|1.50|f|y']);
    assert.deepEqual(await rows(`SELECT key, column_name, value, row->>'t' FROM trusted.${table(s)}_quarantine ORDER BY key->>'id'`), [
      '{"id": "1"}|n|12345678901|x',
      '{"id": "3"}|n|abc|z',
    ]);
  });
});
