// Create or edit a source. The lake checks the definition; each error of its
// problem+json answer is shown by the control its `field` names ("object",
// "columns[2].type", "options.base_url"), focused, and announced.
import { api, session } from '../api.js';
import { clear, errorBox, field, h } from '../dom.js';

const TEXT = ['system', 'database', 'schema', 'object', 'offset_column', 'connection_secret', 'project', 'region'];

export async function renderSourceForm(main, id) {
  if (!session.can('admin')) {
    clear(main, h('h1', {}, 'Sources'), h('p', { class: 'error' }, 'Only an admin token may create or change sources.'));
    return;
  }
  const s = id ? await api('GET', `/v1/sources/${id}`) : { source_type: 'postgresql', load_type: 'full', active: true, max_parallel_tasks: 1, columns: [{ name: 'id', type: 'bigint', key: true }] };
  const controls = {};
  const input = (name, attrs = {}) => (controls[name] = h('input', { type: 'text', name, value: s[name] ?? '', ...attrs }));
  const select = (name, options) => (controls[name] = h('select', { name }, options.map((o) => h('option', { value: o, selected: (s[name] ?? '') === o }, o || '(none)'))));
  const columns = h('tbody', {});
  const addColumn = (c = { name: '', type: 'text' }) => {
    const i = columns.children.length;
    columns.append(h('tr', {},
      h('td', {}, h('input', { type: 'text', 'aria-label': `column ${i + 1} name`, dataset: { col: 'name' }, value: c.name ?? '' })),
      h('td', {}, h('input', { type: 'text', 'aria-label': `column ${i + 1} type`, dataset: { col: 'type' }, value: c.type ?? '' })),
      h('td', {}, h('input', { type: 'checkbox', 'aria-label': `column ${i + 1} is a key`, dataset: { col: 'key' }, checked: !!c.key })),
      h('td', {}, h('input', { type: 'text', 'aria-label': `column ${i + 1} JSON path`, dataset: { col: 'path' }, value: c.path ?? '' })),
      h('td', {}, h('button', { type: 'button', class: 'link', onclick: (ev) => ev.target.closest('tr').remove() }, 'Remove'))));
  };
  for (const c of s.columns ?? []) addColumn(c);
  const options = controls.options = h('textarea', { name: 'options', rows: 6, spellcheck: 'false' }, JSON.stringify(s.options ?? {}, null, 2));
  controls.active = h('input', { type: 'checkbox', name: 'active', checked: !!s.active });
  controls.max_parallel_tasks = h('input', { type: 'number', name: 'max_parallel_tasks', min: 1, value: s.max_parallel_tasks ?? 1 });
  const top = h('div', {});
  const form = h('form', { class: 'card source-form', novalidate: true },
    top,
    h('div', { class: 'form-grid' },
      field('System', input('system', { required: true })),
      field('Source type', select('source_type', ['postgresql', 'sqlserver', 'api', 'sftp'])),
      field('Database', input('database')),
      field('Schema', input('schema')),
      field('Object (table, endpoint or file set)', input('object', { required: true })),
      field('Load type', select('load_type', ['full', 'incremental'])),
      field('Offset mode', select('offset_mode', ['', 'none', 'change_tracking', 'watermark', 'files'])),
      field('Offset column', input('offset_column')),
      field('Connection secret reference', input('connection_secret'), { hint: 'env:LAKE_SECRET_NAME or file:/path; never the secret itself' }),
      field('Project', input('project')),
      field('Region', input('region')),
      field('Max parallel tasks', controls.max_parallel_tasks),
      h('div', { class: 'field check' }, controls.active, h('label', { for: 'f-active' }, 'Active'))),
    h('fieldset', { id: 'f-columns' }, h('legend', {}, 'Columns'),
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Type', 'Key', 'JSON path (api)', ''].map((t) => h('th', { scope: 'col' }, t)))), columns)),
      h('button', { type: 'button', onclick: () => addColumn() }, 'Add column')),
    field('Options (JSON)', options, { hint: 'checks, soft_delete, and the settings of an api or sftp source' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, id ? 'Save' : 'Create'),
      h('a', { class: 'button', href: id ? `#/sources/${id}` : '#/sources' }, 'Cancel')));
  controls.active.id = 'f-active';
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of form.querySelectorAll('.field-error')) el.remove();
    top.replaceChildren();
    const body = {};
    for (const k of TEXT) {
      const v = controls[k].value.trim();
      if (v || id) body[k] = v || null;
    }
    body.source_type = controls.source_type.value;
    body.load_type = controls.load_type.value;
    if (controls.offset_mode.value || id) body.offset_mode = controls.offset_mode.value || null;
    body.active = controls.active.checked;
    body.max_parallel_tasks = Number(controls.max_parallel_tasks.value);
    body.columns = [...columns.children].map((tr) => {
      const c = {};
      for (const el of tr.querySelectorAll('[data-col]')) {
        if (el.type === 'checkbox') c.key = el.checked;
        else if (el.value.trim()) c[el.dataset.col] = el.value.trim();
      }
      return c;
    });
    try {
      body.options = JSON.parse(options.value || '{}');
    } catch (e) {
      showFieldError(form, controls, columns, 'options', `not JSON: ${e.message}`);
      return;
    }
    for (const k of Object.keys(body)) {
      if (!id && body[k] === null) delete body[k];
      // an edit sends only what changed (a merge patch)
      if (id && JSON.stringify(body[k]) === JSON.stringify(s[k] ?? null)) delete body[k];
    }
    try {
      const saved = id ? await api('PATCH', `/v1/sources/${id}`, { body, patch: true }) : await api('POST', '/v1/sources', { body });
      location.hash = `#/sources/${saved.id}`;
    } catch (e) {
      const f = e.problem?.field;
      if (!f || !showFieldError(form, controls, columns, f, e.problem.detail)) clear(top, errorBox(e));
    }
  });
  clear(main, h('p', { class: 'crumbs' }, h('a', { href: '#/sources' }, 'Sources'), ' / '),
    h('h1', {}, id ? `Edit ${s.system}.${s.object}` : 'New source'), form);
}

// Puts the message under the control that `field` names; false when none does.
function showFieldError(form, controls, columns, fieldName, detail) {
  let el = null;
  const m = /^columns(?:\[(\d+)\](?:\.(\w+))?)?/.exec(fieldName);
  if (m) {
    const row = m[1] !== undefined ? columns.children[Number(m[1])] : null;
    el = row ? row.querySelector(`[data-col="${m[2] ?? 'name'}"]`) ?? row.querySelector('[data-col]') : form.querySelector('#f-columns');
  } else {
    const base = fieldName.split(/[.[]/)[0];
    el = controls[base] ?? null;
  }
  if (!el) return false;
  const msgId = `err-${Math.random().toString(36).slice(2, 8)}`;
  const msg = h('p', { class: 'field-error', id: msgId, role: 'alert', dataset: { field: fieldName } }, detail.startsWith(fieldName) ? detail : `${fieldName}: ${detail}`);
  if (el.tagName === 'FIELDSET') el.append(msg);
  else {
    el.setAttribute('aria-invalid', 'true');
    el.setAttribute('aria-errormessage', msgId);
    (el.closest('.field') ?? el.closest('td') ?? el.parentElement).append(msg);
  }
  el.focus?.();
  return true;
}
