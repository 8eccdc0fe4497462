// Overview: every source against its last runs (Airflow's grid), its health,
// the queue, rows loaded today and the alerts firing. Refreshed every 5 s.
import { api, listAll } from '../api.js';
import { FINAL, badge, clear, fmtNum, h, section, stateName, table } from '../dom.js';
import { alertsSection, healthBadge } from '../monitoring.js';

const RUNS = 12;
const RECENT_JOBS = 500;

export async function renderOverview(main) {
  const body = h('div', { class: 'stack' });
  clear(main, h('h1', {}, 'Overview'), body);
  let timer = null;
  let alive = true;
  async function refresh() {
    const [sources, jobs, queued, running, alerts] = await Promise.all([
      listAll('/v1/sources', { max: 500 }),
      api('GET', `/v1/jobs?limit=${RECENT_JOBS}`),
      listAll('/v1/jobs?state=JOB_STATE_QUEUED', { max: 1000 }),
      listAll('/v1/jobs?state=JOB_STATE_RUNNING', { max: 1000 }),
      alertsSection(),
    ]);
    if (!alive) return;
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    const today = jobs.items.filter((j) => new Date(j.created_at) >= midnight);
    const rowsToday = today.filter((j) => j.state === 'JOB_STATE_DONE').reduce((s, j) => s + (j.rows_written ?? 0), 0);
    const partial = jobs.next_cursor && today.length === jobs.items.length;
    const bySource = new Map();
    for (const j of jobs.items) {
      if (!bySource.has(j.source_id)) bySource.set(j.source_id, []);
      const list = bySource.get(j.source_id);
      if (list.length < RUNS) list.push(j);
    }
    const stats = h('div', { class: 'stats' },
      stat('Queue depth', fmtNum(queued.length), 'jobs queued'),
      stat('Running', fmtNum(running.length), 'jobs running'),
      stat('Rows loaded today', `${fmtNum(rowsToday)}${partial ? '+' : ''}`, `by ${today.filter((j) => j.state === 'JOB_STATE_DONE').length} finished loads`),
      stat('Sources', fmtNum(sources.length), `${sources.filter((s) => s.active).length} active`));
    const grid = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Sources and their last runs' }, h('table', { class: 'grid' },
      h('caption', {}, `Each source's last ${RUNS} loads, newest on the left`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Source'), h('th', { scope: 'col' }, 'Last runs'),
        h('th', { scope: 'col' }, 'Health'))),
      h('tbody', {}, sources.length ? sources.map((s) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `#/sources/${s.id}` }, `${s.system}.${s.object}`),
          s.active ? null : h('span', { class: 'muted' }, ' (inactive)')),
        h('td', {}, h('ol', { class: 'runs' }, (bySource.get(s.id) ?? []).map((j) => h('li', {},
          h('a', {
            href: `#/jobs/${j.id}`,
            class: `cell st-${stateName(j.state)}`,
            title: `job ${j.id}: ${stateName(j.state)} (${j.load_type})`,
            'aria-label': `job ${j.id}: ${stateName(j.state)}, ${j.load_type}`,
          }, FINAL.includes(j.state) ? '' : '…'))))),
        h('td', {}, healthBadge(s)))) :
        h('tr', {}, h('td', { colspan: 3, class: 'empty' }, 'No sources yet: ', h('a', { href: '#/sources/new' }, 'register one'), '.')))));
    const legend = h('p', { class: 'legend muted' }, 'Key: ', ['done', 'failed', 'cancelled', 'running', 'queued'].map((s) =>
      h('span', {}, h('span', { class: `cell st-${s}`, 'aria-hidden': 'true' }), ` ${s} `)));
    const active = jobs.items.filter((j) => !FINAL.includes(j.state)).slice(0, 10);
    clear(body, stats, section('Sources and their last runs', grid, legend), alerts,
      section('Loads in progress', table(['Job', 'Source', 'State', 'Rows'], active.map((j) => [
        h('a', { href: `#/jobs/${j.id}` }, `#${j.id}`), j.source, badge(j.state), fmtNum(j.progress?.rows)]))));
  }
  async function loop() {
    try {
      await refresh();
    } catch (e) {
      if (alive) body.prepend(h('p', { class: 'error', role: 'alert' }, `Refresh failed: ${e.message}`));
    }
    if (alive) timer = setTimeout(loop, 5000);
  }
  await loop();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

function stat(label, value, sub) {
  return h('div', { class: 'stat card' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value),
    h('div', { class: 'muted' }, sub));
}
