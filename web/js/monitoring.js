// What the monitoring endpoints expose, in one place: a source's health,
// alerts firing, Change Tracking headroom and a job's log lines. Each shows
// "not available" while the endpoint or field does not exist (a 404, or no
// such field on the source): never an invented value.
import { getOptional } from './api.js';
import { fmtDuration, h, section, table, timeEl } from './dom.js';

const NA = () => h('span', { class: 'muted na' }, 'not available');

// A source's health (fresh / late / stale / failing): the `health` field the
// monitoring work adds to a source ({state, ...} or a plain state).
export function healthOf(source) {
  const hl = source?.health;
  const state = typeof hl === 'string' ? hl : hl?.state;
  return state ? String(state) : null;
}

export function healthBadge(source) {
  const state = healthOf(source);
  return state ? h('span', { class: `badge hl-${state.replace(/[^a-z]/g, '')}` }, state) : NA();
}

// Freshness and CT headroom on a source's page.
export function freshnessSection(source) {
  const hl = source?.health;
  const age = hl && typeof hl === 'object' ? hl.age_seconds : undefined;
  const headroom = source?.ct_headroom;
  return section('Health',
    h('dl', { class: 'kv' },
      h('dt', {}, 'Health'), h('dd', {}, healthBadge(source)),
      h('dt', {}, 'Freshness (since the last good load)'), h('dd', {}, age !== undefined ? fmtDuration(age) : NA()),
      h('dt', {}, 'Freshness SLA'), h('dd', {}, source?.options?.freshness
        ? `warn after ${source.options.freshness.warn_after ?? '—'}, error after ${source.options.freshness.error_after ?? '—'}` : NA()),
      h('dt', {}, 'Change Tracking headroom'), h('dd', { class: 'ct-headroom' }, headroomText(headroom))));
}

// `ct_headroom` of a SQL Server change-tracked source, as the monitoring
// checks last measured it; absent for other sources and before a check ran.
function headroomText(hr) {
  if (!hr || typeof hr !== 'object') return NA();
  if (hr.error) return `not measured: ${hr.error}`;
  if (hr.offset_lost) return 'none: the changes since the last load were cleaned up at the source, a full load is needed';
  if (hr.seconds === undefined) return NA();
  return `${fmtDuration(hr.seconds)} left of ${fmtDuration(hr.retention_seconds)} retention`;
}

// The alerts panel of the overview: GET /v1/alerts?state=firing.
export async function alertsSection() {
  let data;
  try {
    data = await getOptional('/v1/alerts?state=firing');
  } catch (e) {
    return section('Alerts firing', h('p', { class: 'error' }, e.message));
  }
  if (!data) return section('Alerts firing', h('p', {}, NA(), ' — the lake has no alerts endpoint yet.'));
  const items = data.items ?? [];
  return section(`Alerts firing (${items.length})`,
    table(['Severity', 'Summary', 'Since'], items.map((a) => [
      h('span', { class: `badge sev-${String(a.severity ?? '').replace(/[^a-z]/g, '')}` }, a.severity ?? '—'),
      a.summary ?? a.key ?? '', timeEl(a.started_at ?? a.created_at)])));
}

// A job's own log lines: GET /v1/jobs/{id}/logs.
export async function jobLogSection(jobId) {
  let data;
  try {
    data = await getOptional(`/v1/jobs/${jobId}/logs`);
  } catch (e) {
    return section('Log', h('p', { class: 'error' }, e.message));
  }
  if (!data) return section('Log', h('p', {}, NA(), ' — the lake does not serve job logs yet.'));
  const lines = data.items ?? data.lines ?? [];
  return section('Log', h('pre', { class: 'log', tabindex: '0' },
    lines.map((l) => `${typeof l === 'string' ? l : JSON.stringify(l)}\n`)));
}
