// The dashboard's shell: asks for the token once (kept for the tab), learns
// its role (GET /v1/me), and routes the hash (#/sources/3) to a page module.
// A page is render(main, params) and may return a function that stops what
// it started (polling timers) when the user leaves it.
import { api, ApiError, session } from './api.js';
import { announce, clear, errorBox, field, h } from './dom.js';

import { renderCharts } from './pages/charts.js';
import { renderDiscover } from './pages/discover.js';
import { renderJob, renderJobs } from './pages/jobs.js';
import { renderLineage } from './pages/lineage.js';
import { renderOverview } from './pages/overview.js';
import { renderPipeline, renderPipelines } from './pages/pipelines.js';
import { renderSchedule, renderSchedules } from './pages/schedules.js';
import { renderSourceForm } from './pages/source-form.js';
import { renderSource, renderSources } from './pages/sources.js';
import { renderTable, renderTables } from './pages/tables.js';

const ROUTES = [
  [/^\/overview$/, renderOverview, 'Overview'],
  [/^\/sources$/, renderSources, 'Sources'],
  [/^\/sources\/new$/, (m) => renderSourceForm(m, null), 'New source'],
  [/^\/sources\/discover$/, renderDiscover, 'Discover tables'],
  [/^\/sources\/(\d+)\/edit$/, (m, id) => renderSourceForm(m, id), 'Edit source'],
  [/^\/sources\/(\d+)$/, renderSource, 'Source'],
  [/^\/jobs$/, renderJobs, 'Jobs'],
  [/^\/jobs\/(\d+)$/, renderJob, 'Job'],
  [/^\/pipelines$/, renderPipelines, 'Pipelines'],
  [/^\/pipelines\/([A-Za-z0-9_.-]+)$/, renderPipeline, 'Pipeline'],
  [/^\/schedules$/, renderSchedules, 'Schedules'],
  [/^\/schedules\/(\d+)$/, renderSchedule, 'Schedule'],
  [/^\/tables$/, renderTables, 'Tables'],
  [/^\/tables\/(trusted|refined)\/([A-Za-z0-9_]+)$/, renderTable, 'Table'],
  [/^\/charts$/, renderCharts, 'Charts'],
  [/^\/lineage$/, renderLineage, 'Lineage'],
];

const main = document.getElementById('main');
let stop = null;

function splitHash() {
  const raw = location.hash.replace(/^#/, '') || '/overview';
  const q = raw.indexOf('?');
  return { path: q < 0 ? raw : raw.slice(0, q), query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

async function route() {
  if (stop) {
    stop();
    stop = null;
  }
  if (!session.token || !session.me) {
    showLogin();
    return;
  }
  const { path, query } = splitHash();
  for (const a of document.querySelectorAll('#nav a')) {
    const on = path === a.getAttribute('href').slice(1) || path.startsWith(`${a.getAttribute('href').slice(1)}/`);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const hit = ROUTES.find(([re]) => re.test(path));
  if (!hit) {
    clear(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, path), '.'));
    return;
  }
  const [re, render, title] = hit;
  const args = path.match(re).slice(1);
  document.title = `${title} · shopper-lake`;
  clear(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    stop = (await render(main, ...args, query)) ?? null;
  } catch (e) {
    clear(main, h('h1', {}, title), errorBox(e));
  }
  announce(`${title} page`);
}

function showLogin(message) {
  document.getElementById('who').hidden = true;
  document.title = 'Log in · shopper-lake';
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' });
  const err = h('div', { id: 'login-error' });
  const form = h('form', { class: 'card login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Open the lake'),
    h('p', {}, 'Paste your API token. It is kept for this browser tab only.'),
    field('API token', input, { id: 'token' }),
    err,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    session.token = input.value.trim();
    try {
      await whoAmI();
      route();
    } catch (e) {
      session.token = null;
      clear(err, errorBox(e instanceof ApiError && e.status === 401
        ? { problem: { title: 'Not accepted', detail: 'the lake does not know this token' } } : e));
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  });
  clear(main, message ? h('p', { class: 'error', role: 'alert' }, message) : null, form);
  input.focus();
}

async function whoAmI() {
  session.me = await api('GET', '/v1/me');
  document.getElementById('who-name').textContent = `${session.me.name} (${session.me.role})`;
  document.getElementById('who').hidden = false;
  document.body.dataset.role = session.me.role;
}

document.getElementById('logout').addEventListener('click', () => {
  session.token = null;
  session.me = null;
  if (stop) stop();
  stop = null;
  showLogin('Logged out.');
});

window.addEventListener('lake-unauthorized', () => {
  session.token = null;
  session.me = null;
});
window.addEventListener('hashchange', () => {
  route();
  main.focus({ preventScroll: true });
});

(async () => {
  if (session.token) {
    try {
      await whoAmI();
    } catch {
      session.token = null;
    }
  }
  route();
})();
