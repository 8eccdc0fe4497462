// The README's examples work verbatim (issue 15): a lake set up as
// scripts/run leaves it (the demo marketplace served over TDS by mssql-sim
// and registered from sql/demo/sources_sqlserver.json, its full and
// incremental pipelines run, the PostgreSQL marketplace database there for
// the README's own source, the tokens in var/*.token files), then every
// shell block of "Using the API" runs in order in one bash, with only the
// address and the token files' directory put in. Every curl must answer
// 2xx, but for the one the README says may answer 409.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { ADMIN_TOKEN, Lake, READER_TOKEN, ROOT } from './lib/harness.mjs';
import { SourceDb, marketplaceEnv, runPipeline } from './lib/marketplace.mjs';
import { MssqlSim } from './lib/mssql.mjs';

const execFileP = promisify(execFile);

let lake;
let src;
let sim;
let srv;

before(async () => {
  lake = await Lake.create('readme');
  src = await SourceDb.create('readme', { sales: 2000 });
  sim = await MssqlSim.start(['--sales', 2000]);
  srv = await lake.startServer({ env: marketplaceEnv(src, { LAKE_SECRET_MARKETPLACE_MSSQL_URL: sim.url() }) });
  const defs = JSON.parse(readFileSync(path.join(ROOT, 'sql/demo/sources_sqlserver.json'), 'utf8'));
  await srv.call('POST', '/v1/sources/batch', 201, { body: { sources: defs } });
  await runPipeline(srv, 'marketplace_sqlserver_full');
  await runPipeline(srv, 'marketplace_sqlserver_incremental');
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    await src?.drop();
    await sim?.stop();
  }
});

// The ```sh blocks between "## Using the API" and the next "## " heading.
function apiBlocks() {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Using the API');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe('the README', () => {
  test('every example of "Using the API" works verbatim, in order', async () => {
    const blocks = apiBlocks();
    assert.ok(blocks.length >= 4, `found ${blocks.length} blocks`);
    const dir = path.join(lake.tmp, 'readme');
    mkdirSync(path.join(dir, 'var'), { recursive: true });
    writeFileSync(path.join(dir, 'var/admin.token'), ADMIN_TOKEN);
    writeFileSync(path.join(dir, 'var/reader.token'), READER_TOKEN);
    const statuses = path.join(dir, 'statuses');
    const base = `http://127.0.0.1:${srv.port}`;
    // curl as the README calls it, recording each answer's status
    const wrapper = `
curl() {
  local body code
  body=$(mktemp)
  code=$(command curl -o "$body" -w '%{http_code}' "$@") || code="curl-failed:$?"
  cat "$body"; rm -f "$body"
  printf '%s\\t%s\\n' "$code" "$(printf '%s ' "$@" | tr '\\n' ' ')" >> ${JSON.stringify(statuses)}
}
set -e
`;
    const script = wrapper + blocks.join('\n').replaceAll('http://127.0.0.1:8080', base);
    writeFileSync(path.join(dir, 'walk.sh'), script);
    let out;
    try {
      out = await execFileP('bash', ['walk.sh'], { cwd: dir, env: { ...process.env, LAKE_SECRET_MARKETPLACE_URL: src.url }, timeout: 120_000 });
    } catch (e) {
      assert.fail(`the README's commands failed: ${e.message}\n${String(e.stdout).slice(-800)}\n${e.stderr}`);
    }
    const lines = readFileSync(statuses, 'utf8').trim().split('\n').map((l) => l.split('\t'));
    const curls = blocks.join('\n').match(/\bcurl -s/g).length;
    assert.equal(lines.length, curls, `every curl of the README ran (${lines.length} of ${curls})\n${lines.map((l) => l.join(' ').slice(0, 120)).join('\n')}`);
    for (const [code, args] of lines) {
      const allowed409 = /\/v1\/jobs\/\d+\/cancel $/.test(args);
      assert.ok(/^2\d\d$/.test(code) || (allowed409 && code === '409'), `curl ${args} answered ${code}`);
    }
  });
});
