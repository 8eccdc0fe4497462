// Jobs: the newest loads with live progress bars, and a job's page (rows
// against the estimate, rate, time left, steps as a timeline, the error,
// cancel, run again, the log). Polled every second while a job runs; the
// bars move without a reload.
import { api, session } from '../api.js';
import { FINAL, announce, badge, clear, errorBox, fmtDuration, fmtNum, fmtTime, h, section, stateName, table, timeEl } from '../dom.js';
import { jobLogSection } from '../monitoring.js';

// Progress of a job: rows so far, the estimate, rows per second, time left.
export function progressOf(j) {
  const rows = j.progress?.rows ?? 0;
  const est = j.progress?.estimate ?? null;
  const secs = j.duration_seconds ?? 0;
  const done = j.state === 'JOB_STATE_DONE';
  const fraction = done ? 1 : j.progress?.fraction ?? null;
  const rate = secs > 0 ? rows / secs : null;
  const left = !FINAL.includes(j.state) && rate && est && est > rows ? (est - rows) / rate : null;
  return { rows, est, fraction, rate, left };
}

export function progressBar(j, { label } = {}) {
  const p = progressOf(j);
  const final = FINAL.includes(j.state);
  // a final job without an estimate shows an empty bar, not a moving one
  const pct = p.fraction === null ? (final ? 0 : null) : Math.round(p.fraction * 100);
  const name = label ?? `Progress of job ${j.id}`;
  const bar = h('div', {
    class: `bar st-${stateName(j.state)}${pct === null ? ' indeterminate' : ''}`,
    role: 'progressbar', 'aria-label': name, 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-valuenow': pct === null ? null : String(pct), 'aria-valuetext': `${stateName(j.state)}, ${fmtNum(p.rows)} rows${p.est ? ` of about ${fmtNum(p.est)}` : ''}`,
    dataset: { state: stateName(j.state) },
  }, h('div', { class: 'fill', style: { width: `${pct ?? 100}%` } }));
  const text = `${fmtNum(p.rows)}${p.est ? ` / ~${fmtNum(p.est)}` : ''} rows${pct !== null ? ` (${pct}%)` : ''}` +
    `${p.rate ? ` · ${fmtNum(Math.round(p.rate))} rows/s` : ''}${p.left !== null ? ` · ${fmtDuration(p.left)} left` : ''}`;
  return h('div', { class: 'progress' }, bar, h('div', { class: 'muted progress-text' }, text));
}

export async function renderJobs(main, query) {
  const stateSel = h('select', { id: 'job-state', 'aria-label': 'Only jobs in state' },
    ['', 'JOB_STATE_QUEUED', 'JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING', 'JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'].map((s) =>
      h('option', { value: s, selected: (query.get('state') ?? '') === s }, s ? stateName(s) : 'any state')));
  stateSel.addEventListener('change', () => {
    location.hash = stateSel.value ? `#/jobs?state=${stateSel.value}` : '#/jobs';
  });
  const list = h('div', {});
  clear(main, h('div', { class: 'title-row' }, h('h1', {}, 'Jobs'), h('label', { for: 'job-state', class: 'inline' }, 'State ', stateSel)), list);
  let alive = true;
  let timer = null;
  const q = new URLSearchParams({ limit: '50' });
  if (query.get('state')) q.set('state', query.get('state'));
  async function tick() {
    try {
      const page = await api('GET', `/v1/jobs?${q}`);
      if (!alive) return;
      clear(list, table(['Job', 'Source', 'Load', 'State', 'Progress', 'Created'], page.items.map((j) => [
        h('a', { href: `#/jobs/${j.id}` }, `#${j.id}`), j.source, j.load_type, badge(j.state), progressBar(j), timeEl(j.created_at)]),
      { className: 'jobs' }));
    } catch (e) {
      if (alive) clear(list, errorBox(e));
    }
    if (alive) timer = setTimeout(tick, 2000);
  }
  await tick();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

export async function renderJob(main, id) {
  let alive = true;
  let timer = null;
  const head = h('div', {});
  const live = h('div', {});
  const msg = h('div', { class: 'msg' });
  const log = h('div', {});
  clear(main, h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ' / '), head, msg, live, log);
  let lastState = null;
  async function tick() {
    let j;
    try {
      j = await api('GET', `/v1/jobs/${id}`);
    } catch (e) {
      if (alive) clear(msg, errorBox(e));
      if (alive) timer = setTimeout(tick, 2000);
      return;
    }
    if (!alive) return;
    if (j.state !== lastState) {
      if (lastState) announce(`Job ${j.id} is ${stateName(j.state)}`);
      lastState = j.state;
      clear(head, h('div', { class: 'title-row' }, h('h1', {}, `Job #${j.id} `, badge(j.state)), actions(j, msg)),
        h('p', { class: 'muted' }, j.name));
      clear(log, await jobLogSection(j.id));
    }
    clear(live,
      section('Progress', progressBar(j, { label: `Job ${j.id} progress` }),
        h('dl', { class: 'kv' },
          h('dt', {}, 'Source'), h('dd', {}, j.source_id ? h('a', { href: `#/sources/${j.source_id}` }, j.source) : j.source),
          h('dt', {}, 'Load type'), h('dd', {}, j.load_type),
          h('dt', {}, 'Attempt'), h('dd', {}, `${j.attempt} of ${j.max_attempts}`),
          h('dt', {}, 'Pipeline run'), h('dd', {}, j.pipeline_run_id ?? '—'),
          h('dt', {}, 'Rows read / written / quarantined'), h('dd', {}, `${fmtNum(j.rows_read)} / ${fmtNum(j.rows_written)} / ${fmtNum(j.rows_quarantined)}`),
          h('dt', {}, 'Created / started / finished'), h('dd', {}, timeEl(j.created_at), ' / ', timeEl(j.started_at), ' / ', timeEl(j.finished_at)),
          h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(j.duration_seconds)),
          h('dt', {}, 'Offset'), h('dd', {}, `${j.offset_before ?? '—'} → ${j.offset_after ?? '—'}`),
          h('dt', {}, 'Worker'), h('dd', {}, j.worker ?? '—'))),
      j.error ? section('Error', h('p', { class: 'error', role: 'alert' }, h('strong', {}, j.error_kind ?? 'error'), ': ', j.error)) : null,
      section('Steps', timeline(j)));
    if (alive) timer = setTimeout(tick, FINAL.includes(j.state) ? 10000 : 1000);
  }
  await tick();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

function actions(j, msg) {
  if (!session.can('operator')) return null;
  const box = h('div', { class: 'actions' });
  if (!FINAL.includes(j.state) && j.state !== 'JOB_STATE_CANCELLING') {
    box.append(h('button', {
      type: 'button', class: 'danger',
      onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          await api('POST', `/v1/jobs/${j.id}/cancel`);
          announce(`Cancel requested for job ${j.id}`);
        } catch (e) {
          clear(msg, errorBox(e));
          ev.target.disabled = false;
        }
      },
    }, 'Cancel job'));
  }
  if (FINAL.includes(j.state) && j.source_id) {
    box.append(h('button', {
      type: 'button',
      onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          const nj = await api('POST', `/v1/sources/${j.source_id}/loads`, { body: { load_type: j.load_type } });
          location.hash = `#/jobs/${nj.id}`;
        } catch (e) {
          clear(msg, errorBox(e));
          ev.target.disabled = false;
        }
      },
    }, 'Run again'));
  }
  return box;
}

// The steps on one time axis, from the job's start to its end (or now).
function timeline(j) {
  const steps = j.steps ?? [];
  if (!steps.length) return h('p', { class: 'muted' }, 'No step has started yet.');
  const t0 = Date.parse(j.started_at ?? steps[0].started_at ?? j.created_at);
  const end = Math.max(Date.parse(j.finished_at ?? '') || Date.now(), ...steps.map((s) => Date.parse(s.finished_at ?? '') || 0));
  const span = Math.max(1, end - t0);
  return h('ol', { class: 'timeline' }, steps.map((s) => {
    const a = Date.parse(s.started_at ?? '') || t0;
    const b = Date.parse(s.finished_at ?? '') || end;
    const extra = [s.rows !== undefined ? `${fmtNum(s.rows)} rows` : null, s.rejected ? `${fmtNum(s.rejected)} rejected` : null,
      s.rebuilt?.length ? `rebuilt ${s.rebuilt.join(', ')}` : null,
      s.refreshed?.length ? `refreshed ${s.refreshed.map((r) => `${r.report} (${fmtNum(r.groups)} groups)`).join(', ')}` : null,
      s.deferred ?? null, s.detail ?? null,
      s.failed?.length ? `failed checks: ${s.failed.map((f) => f.check ?? JSON.stringify(f)).join(', ')}` : null].filter(Boolean).join(' · ');
    return h('li', {},
      h('span', { class: 'step-name' }, s.name),
      h('span', { class: 'step-track', 'aria-hidden': 'true' },
        h('span', { class: `step-bar st-${stateName(s.state)}`, style: { left: `${((a - t0) / span) * 100}%`, width: `${Math.max(0.5, ((b - a) / span) * 100)}%` } })),
      h('span', { class: 'step-info' }, badge(s.state), ` ${fmtDuration((b - a) / 1000)}`, s.started_at ? ` from ${fmtTime(s.started_at)}` : '', extra ? ` · ${extra}` : ''));
  }));
}
