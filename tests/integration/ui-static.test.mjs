// The dashboard's static files at /ui/: served without a token with their
// content type, a strict Content-Security-Policy and revalidation (ETag ->
// 304); "/ui" redirects to "/ui/"; every path that is not a plain file name
// under web/ (traversal, hidden files, odd characters, unknown extensions,
// directories, symbolic links) is 404. And GET /v1/me names the token.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
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
    const link = path.join(ROOT, 'web/js/link-to-readme.js');
    rmSync(link, { force: true });
    symlinkSync(path.join(ROOT, 'README.md'), link);
    try {
      const bad = [
        '/ui/../README.md', '/ui/..%2fREADME.md', '/ui/%2e%2e/README.md', '/ui/js/../index.html', '/ui/./index.html',
        '/ui//index.html', '/ui/js//app.js', '/ui/.hidden.js', '/ui/js/.x.js', '/ui/index.html%00.js', '/ui/index.html\\',
        '/ui/js', '/ui/js/', '/ui/js/pages', '/ui/nope.html', '/ui/index.HTML', '/ui/meson.build', '/ui/README.md',
        '/ui/a/b/c/d/e.js', `/ui/${'a'.repeat(70)}.js`, `/ui/${'a/'.repeat(200)}x.js`, '/ui/js/link-to-readme.js',
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
    } finally {
      rmSync(link, { force: true });
    }
  });

  test('only GET', async () => {
    const res = await srv.request('POST', '/ui/index.html', { token: null });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
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
