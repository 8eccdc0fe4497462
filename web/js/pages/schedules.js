// Schedules: what fires when (the next fires in the schedule's zone and in
// UTC), the target, its problems, and each schedule's history of fires.
// "Run now" starts the schedule's target (its pipeline or its source's load)
// at once, outside the schedule.
import { api, listAll, session } from '../api.js';
import { announce, badge, clear, errorBox, h, section, table, timeEl } from '../dom.js';

function target(s) {
  if (s.pipeline) return h('a', { href: `#/pipelines/${encodeURIComponent(s.pipeline)}` }, `pipeline ${s.pipeline}`);
  if (s.source_id) return h('a', { href: `#/sources/${s.source_id}` }, `source #${s.source_id} (${s.load_type})`);
  return `task ${s.task}`;
}

function runNow(s, msg) {
  if (!session.can('operator') || (!s.pipeline && !s.source_id)) return null;
  return h('button', {
    type: 'button',
    onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        if (s.pipeline) {
          const run = await api('POST', `/v1/pipelines/${encodeURIComponent(s.pipeline)}/runs`);
          announce(`Pipeline run ${run.id} started`);
          location.hash = `#/pipelines/${encodeURIComponent(s.pipeline)}`;
        } else {
          const job = await api('POST', `/v1/sources/${s.source_id}/loads`, { body: { load_type: s.load_type } });
          location.hash = `#/jobs/${job.id}`;
        }
      } catch (e) {
        clear(msg, errorBox(e));
        ev.target.disabled = false;
      }
    },
  }, 'Run now');
}

export async function renderSchedules(main) {
  const items = await listAll('/v1/schedules', { max: 500 });
  const msg = h('div', { class: 'msg' });
  clear(main, h('h1', {}, 'Schedules'), msg,
    table(['Schedule', 'Target', 'Cron', 'Zone', 'Active', 'Next fire (local)', 'Problem', ''], items.map((s) => [
      h('a', { href: `#/schedules/${s.id}` }, s.name ?? `#${s.id}`), target(s), h('code', {}, s.cron), s.timezone,
      s.active ? 'yes' : 'no', s.next_fires?.[0]?.local ?? '—', s.target_problem ?? '', runNow(s, msg)])));
}

export async function renderSchedule(main, id) {
  const [s, runs] = await Promise.all([api('GET', `/v1/schedules/${id}`), api('GET', `/v1/schedules/${id}/runs?limit=50`)]);
  const msg = h('div', { class: 'msg' });
  clear(main, h('p', { class: 'crumbs' }, h('a', { href: '#/schedules' }, 'Schedules'), ' / '),
    h('div', { class: 'title-row' }, h('h1', {}, s.name ?? `Schedule #${s.id}`), runNow(s, msg)), msg,
    h('div', { class: 'columns2' },
      section('Definition', h('dl', { class: 'kv' },
        [['Target', target(s)], ['Cron', h('code', {}, s.cron)], ['Time zone', s.timezone], ['Active', s.active ? 'yes' : 'no'],
          ['Catch-up', `${s.catchup} (limit ${s.catchup_limit})`], ['Max active runs', s.max_active_runs], ['Deadline', s.deadline ?? '—'],
          ['Retries', `${s.retries} every ${s.retry_delay ?? '—'}`], ['Target problem', s.target_problem ?? 'none'],
          ['Waiting since', s.waiting_since ? timeEl(s.waiting_since) : '—']].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))),
      section('Next fires', table(['Local', 'UTC'], (s.next_fires ?? []).map((f) => [f.local, f.utc])))),
    section('History', table(['Fire', 'Attempt', 'Outcome', 'Started', 'State', 'Run', 'Reason'], runs.items.map((r) => [
      timeEl(r.scheduled_at), r.attempt, r.outcome, timeEl(r.started_at), r.state ? badge(r.state) : '—',
      r.job_id ? h('a', { href: `#/jobs/${r.job_id}` }, `job #${r.job_id}`) : r.pipeline_run_id ? `run #${r.pipeline_run_id}` : '—',
      r.reason ?? '']))));
}
