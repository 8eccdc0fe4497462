// Tables: the TRUSTED and REFINED relations, and one relation's rows through
// the query API: filters (column, operator, value), order, page size, keyset
// pages (the answer's `next`; Back returns to the pages seen), and a CSV
// download of every row that matches (limit=all, Accept: text/csv).
import { api } from '../api.js';
import { announce, clear, errorBox, field, fmtNum, h, table, timeEl } from '../dom.js';

export async function renderTables(main) {
  const list = await api('GET', '/v1/tables');
  const byLayer = (l) => list.items.filter((t) => t.layer === l);
  clear(main, h('h1', {}, 'Tables'),
    ['trusted', 'refined'].map((l) => h('section', { class: 'card' }, h('h2', {}, l.toUpperCase()),
      table(['Table', 'Kind', 'Rows (estimate)', 'Key', 'Last refresh'], byLayer(l).map((t) => [
        h('a', { href: `#/tables/${t.layer}/${t.name}` }, t.name), t.kind, fmtNum(t.row_estimate),
        (t.primary_key ?? []).join(', ') || '—', timeEl(t.last_refresh)])))));
}

const OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'is'];

export async function renderTable(main, layer, name, query) {
  const meta = (await api('GET', `/v1/tables?layer=${layer}`)).items.find((t) => t.name === name);
  if (!meta) throw new Error(`no table ${layer}.${name}`);
  const cols = meta.columns.map((c) => c.name);
  // the query in the page's hash: f=col.op.value (repeatable), order, limit
  const filters = query.getAll('f').map((f) => {
    const m = /^([^.]+)\.([a-z]+)\.(.*)$/s.exec(f);
    return m ? { col: m[1], op: m[2], value: m[3] } : null;
  }).filter(Boolean);
  const order = query.get('order') ?? '';
  const limit = query.get('limit') ?? '50';

  const colSel = h('select', { id: 'flt-col' }, cols.map((c) => h('option', { value: c }, c)));
  const opSel = h('select', { id: 'flt-op' }, OPS.map((o) => h('option', { value: o }, o)));
  const val = h('input', { type: 'text', id: 'flt-value' });
  const orderSel = h('select', { id: 'ord-col' }, h('option', { value: '' }, '(key)'), cols.map((c) => h('option', { value: c, selected: order.replace(/\.(asc|desc)$/, '') === c }, c)));
  const dirSel = h('select', { id: 'ord-dir' }, ['asc', 'desc'].map((d) => h('option', { value: d, selected: order.endsWith(`.${d}`) }, d)));
  const limitSel = h('select', { id: 'page-size' }, ['20', '50', '100', '500'].map((n) => h('option', { value: n, selected: n === limit }, n)));

  const go = (fs, ord = order, lim = limit) => {
    const q = new URLSearchParams();
    for (const f of fs) q.append('f', `${f.col}.${f.op}.${f.value}`);
    if (ord) q.set('order', ord);
    if (lim !== '50') q.set('limit', lim);
    location.hash = `#/tables/${layer}/${name}${q.toString() ? `?${q}` : ''}`;
  };
  const filterForm = h('form', { class: 'filters', 'aria-label': 'Add a filter' },
    field('Column', colSel), field('Operator', opSel), field('Value', val, { hint: 'in: (a,b) · like: * is any text · is: null, not_null, true, false' }),
    h('button', { type: 'submit' }, 'Add filter'));
  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go([...filters, { col: colSel.value, op: opSel.value, value: val.value }]);
  });
  const orderForm = h('form', { class: 'filters', 'aria-label': 'Order and page size' },
    field('Order by', orderSel), field('Direction', dirSel), field('Rows per page', limitSel), h('button', { type: 'submit' }, 'Apply'));
  orderForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(filters, orderSel.value ? `${orderSel.value}.${dirSel.value}` : '', limitSel.value);
  });
  const chips = h('ul', { class: 'chips', 'aria-label': 'Filters' }, filters.map((f, i) => h('li', {},
    h('code', {}, `${f.col} ${f.op} ${f.value}`), ' ',
    h('button', { type: 'button', class: 'link', 'aria-label': `Remove filter ${f.col} ${f.op} ${f.value}`, onclick: () => go(filters.filter((_, j) => j !== i)) }, '×'))));

  const base = new URLSearchParams();
  for (const f of filters) base.append(f.col, `${f.op}.${f.value}`);
  if (order) base.set('order', order);
  const pathOf = (q) => `/v1/tables/${layer}/${name}${q.toString() ? `?${q}` : ''}`;
  const first = new URLSearchParams(base);
  first.set('limit', limit);

  const out = h('div', {});
  const pager = h('div', { class: 'actions pager' });
  const msg = h('div', { class: 'msg' });
  const history = [];
  let current = pathOf(first);
  async function show(path) {
    try {
      const page = await api('GET', path);
      current = path;
      clear(out, table(cols, page.items.map((r) => cols.map((c) => cell(r[c]))), { className: 'rows', caption: `${page.items.length} rows on this page` }));
      clear(pager,
        h('button', { type: 'button', disabled: !history.length, onclick: () => show(history.pop()) }, '← Previous page'),
        h('button', { type: 'button', disabled: !page.next, onclick: () => { history.push(current); show(page.next); } }, 'Next page →'));
      clear(msg);
      announce(`${page.items.length} rows`);
    } catch (e) {
      clear(msg, errorBox(e));
      clear(out);
    }
  }
  const csv = h('button', {
    type: 'button',
    onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        const q = new URLSearchParams(base);
        q.set('limit', 'all');
        const res = await api('GET', pathOf(q), { accept: 'text/csv', raw: true });
        const blob = await res.blob();
        const a = h('a', { href: URL.createObjectURL(blob), download: `${layer}.${name}.csv` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
        announce('CSV downloaded');
      } catch (e) {
        clear(msg, errorBox(e));
      }
      ev.target.disabled = false;
    },
  }, 'Download CSV');

  clear(main, h('p', { class: 'crumbs' }, h('a', { href: '#/tables' }, 'Tables'), ' / ', layer.toUpperCase(), ' / '),
    h('div', { class: 'title-row' }, h('h1', {}, `${layer}.${name}`), csv),
    h('p', { class: 'muted' }, `${fmtNum(meta.row_estimate)} rows (estimate) · key ${(meta.primary_key ?? []).join(', ') || '—'} · refreshed `, timeEl(meta.last_refresh)),
    h('div', { class: 'card' }, filterForm, chips, orderForm), msg, out, pager);
  await show(current);
}

function cell(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, 'null');
  if (typeof v === 'object') return h('code', {}, JSON.stringify(v));
  return String(v);
}
