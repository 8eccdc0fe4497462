// Small DOM and formatting helpers shared by every page. Elements are built
// with h(); text always goes through text nodes (never innerHTML), so data
// from the lake cannot inject markup, and the strict CSP needs no inline code.

export function h(tag, attrs = {}, ...children) {
  const el = tag === 'svg' || attrs?.svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false || k === 'svg') continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

export function svg(tag, attrs = {}, ...children) {
  return h(tag, { ...attrs, svg: true }, ...children);
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmtNum(n) {
  if (n === null || n === undefined || n === '') return '—';
  const x = Number(n);
  return Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(n);
}

export function fmtDuration(secs) {
  if (secs === null || secs === undefined || !Number.isFinite(Number(secs))) return '—';
  let s = Math.max(0, Math.round(Number(secs)));
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  s -= mm * 60;
  return hh ? `${hh}h ${mm}m` : mm ? `${mm}m ${s}s` : `${s}s`;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}

export function timeEl(iso) {
  return iso ? h('time', { datetime: iso, title: iso }, fmtTime(iso)) : '—';
}

const STATE_LABEL = {
  JOB_STATE_QUEUED: 'queued',
  JOB_STATE_RUNNING: 'running',
  JOB_STATE_CANCELLING: 'cancelling',
  JOB_STATE_DONE: 'done',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_CANCELLED: 'cancelled',
};

export function stateName(state) {
  return STATE_LABEL[state] ?? String(state ?? '—').toLowerCase();
}

// A state as a badge: colour AND word (never colour alone).
export function badge(state) {
  const name = stateName(state);
  return h('span', { class: `badge st-${name.replace(/[^a-z]/g, '')}` }, name);
}

export const FINAL = ['JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'];

// A table; on a narrow screen each row becomes a block whose cells carry
// their column's name (data-label), except for tables of rows ('rows'),
// which scroll sideways instead.
export function table(headers, rows, { caption, className } = {}) {
  const cls = className === 'rows' ? 'rows' : `stackable ${className ?? ''}`.trim();
  // rows scroll sideways: the keyboard may focus the region to scroll it
  const wrap = cls === 'rows' ? { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption ?? 'Rows' } : { class: 'table-wrap' };
  return h('div', wrap,
    h('table', { class: cls },
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { dataset: { label: headers[i] ?? '' } }, c)))) :
        h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, 'Nothing here yet.')))));
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

export function errorBox(err) {
  const p = err?.problem;
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, p?.title ?? 'Error'), ': ', p?.detail ?? err?.message ?? String(err),
    p?.field ? h('span', { class: 'muted' }, ` (field ${p.field})`) : null);
}

export function announce(msg) {
  const s = document.getElementById('status');
  if (s) s.textContent = msg;
}

// A labelled form control.
export function field(label, control, { hint, id } = {}) {
  const cid = id || control.id || `f-${Math.random().toString(36).slice(2, 8)}`;
  control.id = cid;
  const hintId = hint ? `${cid}-hint` : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: cid }, label), control,
    hint ? h('small', { id: hintId, class: 'muted' }, hint) : null);
}
