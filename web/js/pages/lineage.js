// Lineage: each source's way through the lake, source -> LAND -> RAW ->
// TRUSTED -> REFINED, with the rows at each hop and what was rejected or
// quarantined on the way (GET /v1/lineage).
import { api } from '../api.js';
import { clear, fmtNum, h, section, table, timeEl } from '../dom.js';

function hop(layer, name, rows, extra) {
  return h('li', { class: 'hop' }, h('span', { class: 'hop-layer' }, layer), h('span', { class: 'hop-name' }, name),
    h('span', { class: 'hop-rows' }, rows === null || rows === undefined ? 'not made yet' : `${fmtNum(rows)} rows`),
    extra ? h('span', { class: 'hop-extra' }, extra) : null);
}

export async function renderLineage(main) {
  const data = await api('GET', '/v1/lineage');
  clear(main, h('h1', {}, 'Lineage'),
    h('p', { class: 'muted' }, 'Exact row counts at each hop; LAND keeps the rows of each load, RAW all history, TRUSTED one row per key.'),
    data.sources.map((s) => h('section', { class: 'card lineage', 'aria-label': `Lineage of ${s.source}` },
      h('h2', {}, h('a', { href: `#/sources/${s.source_id}` }, s.source), s.active ? null : h('span', { class: 'muted' }, ' (inactive)')),
      h('ol', { class: 'flow' },
        hop('source', `${s.source_type}`, s.last_load?.rows_read, s.last_load ? ['last load ', h('a', { href: `#/jobs/${s.last_load.id}` }, `#${s.last_load.id}`), ' read'] : 'never loaded'),
        hop('LAND', `land.${s.table}`, s.land.rows, s.land.rejects !== null ? `${fmtNum(s.land.rejects)} rejected` : null),
        hop('RAW', `raw.${s.table}`, s.raw.rows),
        hop('TRUSTED', h('a', { href: `#/tables/trusted/${s.table}` }, `trusted.${s.table}`), s.trusted.rows,
          s.trusted.quarantined !== null ? `${fmtNum(s.trusted.quarantined)} quarantined` : null),
        h('li', { class: 'hop' }, h('span', { class: 'hop-layer' }, 'REFINED'),
          s.refined.length ? h('ul', { class: 'plain' }, s.refined.map((r) => h('li', {}, h('a', { href: `#/tables/refined/${r}` }, r))))
            : h('span', { class: 'muted' }, 'no report reads it')))),
    ),
    section('REFINED reports', table(['Report', 'Rows', 'Reads'], data.reports.map((r) => [
      h('a', { href: `#/tables/refined/${r.name}` }, r.name), r.rows === null ? 'not built yet' : fmtNum(r.rows), r.depends.join(', ')]))),
    h('p', { class: 'muted' }, 'Counted at ', timeEl(new Date().toISOString())));
}
