// The dashboard's static files at /ui/: served without a token with their
// content type, a strict Content-Security-Policy and revalidation (ETag ->
// 304); "/ui" redirects to "/ui/"; every path that is not a plain file name
// under web/ (traversal, hidden files, odd characters, unknown extensions,
// directories; a symbolic link, in a home of its own) is 404. And GET /v1/me names the token.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Lake, ROOT } from './lib/harness.mjs';

let lake;
let srv;

before(async () => {
  lake = await Lake.create('uistatic');
  srv = await lake.startServer();
});
after(async () => {
  await lake?.close();
});

describe('GET /ui/', () => {
  test('index.html, app.js and app.css with their types, CSP and no-cache', async () => {
    for (const [p, file, type] of [
      ['/ui/', 'web/index.html', 'text/html; charset=utf-8'],
      ['/ui/index.html', 'web/index.html', 'text/html; charset=utf-8'],
      ['/ui/js/app.js', 'web/js/app.js', 'text/javascript; charset=utf-8'],
      ['/ui/js/pages/jobs.js', 'web/js/pages/jobs.js', 'text/javascript; charset=utf-8'],
      ['/ui/css/app.css', 'web/css/app.css', 'text/css; charset=utf-8'],
      ['/ui/favicon.svg', 'web/favicon.svg', 'image/svg+xml'],
    ]) {
      const res = await srv.request('GET', p, { token: null });
      assert.equal(res.status, 200, p);
      assert.equal(res.text, readFileSync(path.join(ROOT, file), 'utf8'), p);
      assert.equal(res.headers.get('content-type'), type, p);
      const csp = res.headers.get('content-security-policy');
      assert.match(csp, /default-src 'none'/, p);
      assert.match(csp, /script-src 'self';/, p);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/, p);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.match(res.headers.get('etag'), /^"[0-9a-f]+-[0-9a-f]+\.[0-9a-f]+"$/);
    }
  });

  test('an unchanged file is 304 for its ETag, 200 for another', async () => {
    const first = await srv.request('GET', '/ui/js/app.js', { token: null });
    const etag = first.headers.get('etag');
    const again = await srv.request('GET', '/ui/js/app.js', { token: null, headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    assert.equal(again.headers.get('etag'), etag);
    const other = await srv.request('GET', '/ui/js/app.js', { token: null, headers: { 'if-none-match': '"0-0.0"' } });
    assert.equal(other.status, 200);
  });

  test('/ui redirects to /ui/ (relative paths in the page need the slash)', async () => {
    const res = await srv.raw('GET /ui HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), '/ui/');
  });

  test('anything but a plain file under web/ is 404 (traversal, hidden, odd names, directories, links)', async () => {
    {
      const bad = [
        '/ui/../README.md', '/ui/..%2fREADME.md', '/ui/%2e%2e/README.md', '/ui/js/../index.html', '/ui/./index.html',
        '/ui//index.html', '/ui/js//app.js', '/ui/.hidden.js', '/ui/js/.x.js', '/ui/index.html%00.js', '/ui/index.html\\',
        '/ui/js', '/ui/js/', '/ui/js/pages', '/ui/nope.html', '/ui/index.HTML', '/ui/meson.build', '/ui/README.md',
        '/ui/a/b/c/d/e.js', `/ui/${'a'.repeat(70)}.js`, `/ui/${'a/'.repeat(200)}x.js`,
        '/ui/%C3%A9.js', '/ui/a%20b.js', '/ui/index.html?x=../../etc/passwd',
      ];
      for (const p of bad) {
        const res = await srv.raw(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        if (p.startsWith('/ui/index.html?')) {
          assert.equal(res.status, 200, p); // the query string is not part of the path
          continue;
        }
        assert.ok([404, 400].includes(res.status), `${p}: ${res.status} ${res.text.slice(0, 200)}`);
        assert.doesNotMatch(res.text, /shopper-lake ingests|# shopper-lake/, p);
      }
    }
  });

  test('a symbolic link under web/ is not followed', async () => {
    // a home of its own: sql/ and openapi/ of the tree, a web/ with a link out
    const home = mkdtempSync(path.join(os.tmpdir(), 'shopperlake-ui-'));
    try {
      for (const d of ['sql', 'openapi']) symlinkSync(path.join(ROOT, d), path.join(home, d));
      mkdirSync(path.join(home, 'web'));
      writeFileSync(path.join(home, 'web/index.html'), '<!doctype html><title>t</title>');
      symlinkSync(path.join(ROOT, 'README.md'), path.join(home, 'web/readme.txt'));
      const other = await lake.startServer({ env: { SHOPPERLAKE_HOME: home } });
      assert.equal((await other.request('GET', '/ui/', { token: null })).status, 200);
      const res = await other.request('GET', '/ui/readme.txt', { token: null });
      assert.equal(res.status, 404);
      assert.doesNotMatch(res.text, /# shopper-lake|What works today/);
      await other.stop();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('300 random paths of tricky pieces: only files under web/, nothing else, no crash', async () => {
    const pieces = ['.', '..', '/', '//', '%2e', '%2E%2e', '%2f', '%5c', '\\', '%00', 'js', 'css', 'index.html', 'app.js',
      'a', '~', '%c0%ae', '%25', '..%2f', 'etc', 'passwd', '.git', 'README.md', '%ff', ';', '*', '?'];
    let seed = 20261201;
    const rand = (n) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const served = new Set(['/ui/', '/ui/index.html', '/ui/js/app.js', '/ui/css/app.css']);
    for (let i = 0; i < 300; i++) {
      let p = '/ui/';
      for (let k = 1 + rand(6); k > 0; k--) p += pieces[rand(pieces.length)];
      const res = await srv.raw(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.ok([200, 304, 308, 400, 404, 414].includes(res.status), `${p}: ${res.status}`);
      assert.doesNotMatch(res.text, /# shopper-lake|CREATE TABLE|root:/, p);
      if (res.status === 200) assert.ok(served.has(p.split('?')[0]) || /^\/ui\/(js|css)\/[a-z]+\.(js|css)$/.test(p) || /^\/ui\/index\.html/.test(p), `served ${p}`);
    }
  });

  test('only GET (and HEAD)', async () => {
    const res = await srv.request('POST', '/ui/index.html', { token: null });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });
});

describe('GET /v1/me', () => {
  test('names the presented token and its role, never its secret', async () => {
    const admin = await srv.call('GET', '/v1/me', 200);
    assert.deepEqual(admin.body, { name: 'bootstrap-admin', role: 'admin', token_id: null });
    const reader = await srv.call('GET', '/v1/me', 200, { token: 'reader' });
    assert.deepEqual(reader.body, { name: 'bootstrap-reader', role: 'reader', token_id: null });
    const made = await srv.call('POST', '/v1/tokens', 201, { body: { name: 'dash-op', role: 'operator' } });
    const op = await srv.call('GET', '/v1/me', 200, { token: made.body.token });
    assert.deepEqual(op.body, { name: 'dash-op', role: 'operator', token_id: made.body.id });
    assert.ok(!JSON.stringify(op.body).includes(made.body.token));
    await srv.call('GET', '/v1/me', 401, { token: null });
  });

  test('the server stops cleanly', async () => {
    await srv.stop();
  });
});
