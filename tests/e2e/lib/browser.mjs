// Debian's chromium driven by playwright-core, kept off the network: no
// browser download ever (playwright-core has none), the flags of the
// environment notes that stop chromium's own background connections, a new
// empty profile per run, and every request the page makes checked to stay on
// the server under test. Screenshots go to var/e2e/ (test artefacts, not
// committed).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { ROOT } from '../../integration/lib/harness.mjs';

export const CHROMIUM = process.env.SHOPPERLAKE_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'var/e2e');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--metrics-recording-only', '--no-default-browser-check'];

export async function launch() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/install-deps installs Debian's chromium`);
  mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(path.join(os.tmpdir(), 'shopperlake-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// A page that records what it should never do: requests off the server,
// CSP violations, uncaught errors, console errors.
export async function openPage(context, origin) {
  const page = await context.newPage();
  const problems = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:')) problems.push(`request off the server: ${u}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/the server responded with a status of (40[134]|409|422)/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  return { page, problems };
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
