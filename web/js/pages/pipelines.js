// Pipelines: every pipeline with its last run, "Run now" for an operator,
// the schedules that fire it (with their next fires) and a pipeline's run
// history with each run's jobs.
import { api, listAll, session } from '../api.js';
import { FINAL, announce, badge, clear, errorBox, fmtNum, h, section, table, timeEl } from '../dom.js';

function counts(c) {
  if (!c) return '—';
  return `${c.done}/${c.total} done${c.failed ? `, ${c.failed} failed` : ''}${c.running ? `, ${c.running} running` : ''}${c.queued ? `, ${c.queued} queued` : ''}${c.cancelled ? `, ${c.cancelled} cancelled` : ''}`;
}

function runButton(name, msg) {
  if (!session.can('operator')) return null;
  return h('button', {
    type: 'button', class: 'primary',
    onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        const run = await api('POST', `/v1/pipelines/${encodeURIComponent(name)}/runs`);
        announce(`Pipeline run ${run.id} started`);
        const to = `#/pipelines/${encodeURIComponent(name)}`;
        if (location.hash === to) window.dispatchEvent(new HashChangeEvent('hashchange'));
        else location.hash = to;
      } catch (e) {
        clear(msg, errorBox(e));
        ev.target.disabled = false;
      }
    },
  }, 'Run now');
}

export async function renderPipelines(main) {
  const [pipes, schedules] = await Promise.all([api('GET', '/v1/pipelines'), listAll('/v1/schedules', { max: 500 })]);
  const msg = h('div', { class: 'msg' });
  clear(main, h('h1', {}, 'Pipelines'), msg,
    table(['Pipeline', 'Sources', 'Parallel', 'Last run', 'State', 'Jobs', 'Next fire', ''], pipes.items.map((p) => {
      const next = schedules.filter((s) => s.pipeline === p.name && s.active).flatMap((s) => s.next_fires ?? []).map((f) => f.utc).sort()[0];
      return [h('a', { href: `#/pipelines/${encodeURIComponent(p.name)}` }, p.name), fmtNum(p.sources), p.max_parallel,
        p.last_run ? timeEl(p.last_run.created_at) : 'never', p.last_run ? badge(p.last_run.state) : '—', counts(p.last_run?.job_counts),
        next ? timeEl(next) : 'not scheduled', runButton(p.name, msg)];
    })));
}

// A pipeline's page; refreshed every 2 s while its latest run is going.
export async function renderPipeline(main, name) {
  let alive = true;
  let timer = null;
  const msg = h('div', { class: 'msg' });
  const body = h('div', {});
  clear(main, h('p', { class: 'crumbs' }, h('a', { href: '#/pipelines' }, 'Pipelines'), ' / '),
    h('div', { class: 'title-row' }, h('h1', {}, name), runButton(name, msg)), msg, body);
  async function tick() {
    try {
      const latest = await renderPipelineBody(body, name);
      if (alive && latest && !FINAL.includes(latest.state)) timer = setTimeout(tick, 2000);
    } catch (e) {
      if (alive) clear(msg, errorBox(e));
    }
  }
  await tick();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

async function renderPipelineBody(body, name) {
  const [runs, schedules] = await Promise.all([
    api('GET', `/v1/pipelines/${encodeURIComponent(name)}/runs?limit=20`),
    listAll('/v1/schedules', { max: 500 }),
  ]);
  const mine = schedules.filter((s) => s.pipeline === name);
  const latest = runs.items[0] ? await api('GET', `/v1/pipelines/${encodeURIComponent(name)}/runs/${runs.items[0].id}`) : null;
  clear(body,
    section('Schedules', mine.length ? table(['Schedule', 'Cron', 'Zone', 'Active', 'Next fires (local)'], mine.map((s) => [
      h('a', { href: `#/schedules/${s.id}` }, s.name ?? `#${s.id}`), h('code', {}, s.cron), s.timezone, s.active ? 'yes' : 'no',
      h('ul', { class: 'plain' }, (s.next_fires ?? []).slice(0, 3).map((f) => h('li', {}, f.local)))]))
      : h('p', { class: 'muted' }, 'No schedule fires this pipeline.')),
    latest ? section(`Latest run #${latest.id}`, h('p', {}, badge(latest.state), ` ${counts(latest.job_counts)}`),
      table(['Job', 'Source', 'State', 'Rows written'], (latest.jobs ?? []).map((j) => [
        h('a', { href: `#/jobs/${j.id}` }, `#${j.id}`), j.source, badge(j.state), fmtNum(j.rows_written)]))) : null,
    section('History', table(['Run', 'Created', 'Finished', 'State', 'Jobs'], runs.items.map((r) => [
      `#${r.id}`, timeEl(r.created_at), timeEl(r.finished_at), badge(r.state), counts(r.job_counts)]), { className: 'history' })));
  return latest;
}
