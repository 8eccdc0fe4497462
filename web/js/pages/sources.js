// Sources: the control table with filters (system, source type, active;
// server side) and a name search; a source's page with its definition,
// columns, checks, health and last jobs, and its actions by role.
import { api, listAll, session } from '../api.js';
import { announce, badge, clear, errorBox, field, fmtNum, h, section, table, timeEl } from '../dom.js';
import { freshnessSection, healthBadge } from '../monitoring.js';

export async function renderSources(main, query) {
  const system = h('input', { type: 'text', name: 'system', value: query.get('system') ?? '' });
  const type = h('select', { name: 'source_type' }, ['', 'postgresql', 'sqlserver', 'api', 'sftp'].map((t) =>
    h('option', { value: t, selected: query.get('source_type') === t }, t || 'any')));
  const active = h('select', { name: 'active' }, [['', 'any'], ['true', 'active'], ['false', 'inactive']].map(([v, l]) =>
    h('option', { value: v, selected: query.get('active') === v }, l)));
  const search = h('input', { type: 'search', name: 'q', value: query.get('q') ?? '' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter sources' },
    field('System', system), field('Source type', type), field('Active', active), field('Name contains', search),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const el of [system, type, active, search]) if (el.value) q.set(el.name, el.value.trim());
    location.hash = `#/sources${q.toString() ? `?${q}` : ''}`;
  });
  const api_q = new URLSearchParams();
  for (const k of ['system', 'source_type', 'active']) if (query.get(k)) api_q.set(k, query.get(k));
  let sources = await listAll(`/v1/sources${api_q.toString() ? `?${api_q}` : ''}`, { max: 2000 });
  const needle = (query.get('q') ?? '').toLowerCase();
  if (needle) sources = sources.filter((s) => `${s.system}.${s.database}.${s.object}`.toLowerCase().includes(needle));
  clear(main,
    h('div', { class: 'title-row' }, h('h1', {}, 'Sources'),
      session.can('admin') ? h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/sources/discover' }, 'Discover tables'),
        h('a', { class: 'button primary', href: '#/sources/new' }, 'New source')) : null),
    form,
    table(['Source', 'Type', 'Load', 'Health', 'Active', 'Last offset', 'Updated'], sources.map((s) => [
      h('a', { href: `#/sources/${s.id}` }, `${s.system}.${s.database}.${s.object}`),
      s.source_type, s.load_type, healthBadge(s), s.active ? 'yes' : 'no', s.last_offset ?? '—', timeEl(s.updated_at)]),
    { caption: `${sources.length} source${sources.length === 1 ? '' : 's'}` }));
}

export async function renderSource(main, id) {
  const [s, jobs] = await Promise.all([api('GET', `/v1/sources/${id}`), api('GET', `/v1/jobs?source_id=${id}&limit=20`)]);
  const msg = h('div', { class: 'msg' });
  const actions = h('div', { class: 'actions' });
  if (session.can('operator')) {
    for (const lt of ['full', 'incremental']) {
      actions.append(h('button', {
        type: 'button', class: lt === s.load_type ? 'primary' : '',
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            const job = await api('POST', `/v1/sources/${id}/loads`, { body: { load_type: lt } });
            announce(`Job ${job.id} queued`);
            location.hash = `#/jobs/${job.id}`;
          } catch (e) {
            clear(msg, errorBox(e));
            ev.target.disabled = false;
          }
        },
      }, `Run ${lt} load`));
    }
  }
  if (session.can('admin')) {
    actions.append(h('a', { class: 'button', href: `#/sources/${id}/edit` }, 'Edit'));
    actions.append(h('button', {
      type: 'button', class: 'danger',
      onclick: async () => {
        if (!window.confirm(`Delete source ${s.system}.${s.object}? Its lake tables stay.`)) return;
        try {
          await api('DELETE', `/v1/sources/${id}`);
          location.hash = '#/sources';
        } catch (e) {
          clear(msg, errorBox(e));
        }
      },
    }, 'Delete'));
  }
  const def = [
    ['System', s.system], ['Source type', s.source_type], ['Database', s.database ?? '—'], ['Schema', s.schema ?? '—'],
    ['Object', s.object], ['Load type', s.load_type], ['Offset', `${s.offset_mode ?? '—'}${s.offset_column ? ` on ${s.offset_column}` : ''}`],
    ['Last offset', s.last_offset ?? '—'], ['Active', s.active ? 'yes' : 'no'], ['Secret reference', s.connection_secret ?? '—'],
    ['Project / region', `${s.project ?? '—'} / ${s.region ?? '—'}`], ['Max parallel tasks', s.max_parallel_tasks],
    ['Lake table', `${s.system}_${s.object}`],
  ];
  const checks = s.options?.checks ?? [];
  const otherOptions = Object.fromEntries(Object.entries(s.options ?? {}).filter(([k]) => k !== 'checks'));
  clear(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/sources' }, 'Sources'), ' / '),
    h('div', { class: 'title-row' }, h('h1', {}, `${s.system}.${s.database ?? ''}.${s.object}`), actions),
    msg,
    (s.warnings ?? []).map((w) => h('p', { class: 'warning' }, typeof w === 'string' ? w : JSON.stringify(w))),
    h('div', { class: 'columns2' },
      section('Definition', h('dl', { class: 'kv' }, def.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]))),
      freshnessSection(s)),
    section('Columns', table(['Name', 'Type', 'Key', 'JSON path'], (s.columns ?? []).map((c) =>
      [h('code', {}, c.name), c.type, c.key ? 'key' : '', c.path ?? '']))),
    section('Data-quality checks', checks.length
      ? table(['Check', 'Definition'], checks.map((c) => [c.type ?? c.check ?? c.name ?? '—', h('code', {}, JSON.stringify(c))]))
      : h('p', { class: 'muted' }, 'No checks.'),
    Object.keys(otherOptions).length ? h('details', {}, h('summary', {}, 'Other options'), h('pre', {}, JSON.stringify(otherOptions, null, 2))) : null),
    section('Last jobs', table(['Job', 'State', 'Load', 'Rows written', 'Quarantined', 'Started'], jobs.items.map((j) => [
      h('a', { href: `#/jobs/${j.id}` }, `#${j.id}`), badge(j.state), j.load_type, fmtNum(j.rows_written),
      fmtNum(j.rows_quarantined), timeEl(j.started_at)]))));
}
