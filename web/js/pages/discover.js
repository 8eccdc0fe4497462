// Discover a source database's tables and register several at once, with the
// endpoints of the SQL Server work (POST /v1/discover, POST /v1/sources/batch).
// While this lake has no such endpoint (404), the page says "not available"
// and invents nothing. The batch is all or none: an error names its
// definition (`sources[3].columns[1].type`) and is shown on that table's row.
import { api, session } from '../api.js';
import { announce, clear, errorBox, field, h } from '../dom.js';

export async function renderDiscover(main) {
  if (!session.can('admin')) {
    clear(main, h('h1', {}, 'Discover tables'), h('p', { class: 'error' }, 'Only an admin token may register sources.'));
    return;
  }
  const type = h('select', { name: 'source_type' }, ['sqlserver', 'postgresql'].map((t) => h('option', { value: t }, t)));
  const secret = h('input', { type: 'text', name: 'connection_secret', required: true, placeholder: 'env:LAKE_SECRET_...' });
  const schema = h('input', { type: 'text', name: 'schema' });
  const system = h('input', { type: 'text', name: 'system', required: true });
  const out = h('div', {});
  const form = h('form', { class: 'card filters', 'aria-label': 'Discover a database' },
    field('Source type', type), field('Connection secret reference', secret), field('Schema (optional)', schema), field('System', system),
    h('button', { type: 'submit', class: 'primary' }, 'Discover'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { source_type: type.value, connection_secret: secret.value.trim(), system: system.value.trim() };
    if (schema.value.trim()) body.schema = schema.value.trim();
    clear(out, h('p', { class: 'muted' }, 'Asking the source…'));
    let found;
    try {
      found = await api('POST', '/v1/discover', { body });
    } catch (e) {
      if (e.status === 404 || e.status === 405) {
        clear(out, h('p', {}, h('span', { class: 'muted na' }, 'not available'), ' — this lake has no discovery endpoint yet (it comes with the SQL Server work).'));
      } else clear(out, errorBox(e));
      return;
    }
    showTables(out, found);
  });
  clear(main, h('p', { class: 'crumbs' }, h('a', { href: '#/sources' }, 'Sources'), ' / '), h('h1', {}, 'Discover tables'), form, out);
}

function showTables(out, found) {
  const rows = found.tables.map((t, i) => {
    const box = h('input', { type: 'checkbox', checked: true, 'aria-label': `register ${t.schema}.${t.object}`, dataset: { i: String(i) } });
    return h('tr', { dataset: { i: String(i) } }, h('td', {}, box), h('td', {}, `${t.schema}.${t.object}`), h('td', {}, String(t.columns.length)),
      h('td', {}, (t.primary_key ?? []).join(', ') || '—'), h('td', {}, t.change_tracking ? 'on' : 'off'), h('td', {}, t.definition?.load_type ?? '—'),
      h('td', { class: 'row-error' }));
  });
  const msg = h('div', {});
  const register = h('button', {
    type: 'button', class: 'primary',
    onclick: async () => {
      for (const el of out.querySelectorAll('.row-error')) el.replaceChildren();
      clear(msg);
      const picked = [...out.querySelectorAll('tbody input[type=checkbox]')].filter((b) => b.checked).map((b) => Number(b.dataset.i));
      if (!picked.length) return;
      try {
        const res = await api('POST', '/v1/sources/batch', { body: { sources: picked.map((i) => found.tables[i].definition) } });
        announce(`${res.items.length} sources registered`);
        location.hash = '#/sources';
      } catch (e) {
        const m = /^sources\[(\d+)\]/.exec(e.problem?.field ?? '');
        const row = m ? out.querySelector(`tr[data-i="${picked[Number(m[1])]}"] .row-error`) : null;
        if (row) clear(row, h('span', { class: 'field-error', role: 'alert', dataset: { field: e.problem.field } }, `${e.problem.field}: ${e.problem.detail}`));
        else clear(msg, errorBox(e));
      }
    },
  }, 'Register the selected tables');
  clear(out, h('section', { class: 'card' }, h('h2', {}, `${found.database}: ${found.tables.length} tables`),
    h('p', { class: 'muted' }, `Change tracking ${found.change_tracking?.enabled ? 'on' : 'off'}; snapshot isolation ${found.snapshot_isolation ? 'allowed' : 'not allowed'}.`),
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Register', 'Table', 'Columns', 'Key', 'Change tracking', 'Load', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))), msg, h('div', { class: 'actions' }, register)));
}
