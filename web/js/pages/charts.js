// The data-viz team's first look at the REFINED reports: daily sales over
// time, top products by revenue, promotion uplift and social sentiment per
// product. Each reads its report through the query API; a report not built
// yet says so instead of drawing anything.
import { api } from '../api.js';
import { clear, h } from '../dom.js';
import { barChart, lineChart } from '../chart.js';

async function rows(table, params) {
  try {
    return (await api('GET', `/v1/tables/refined/${table}?${new URLSearchParams(params)}`)).items;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// Revenue per day of the last `want` days with sales, summed over products
// and stores: vendas_diarias has a row per day, product and store, so pages
// are read (newest first) until a day past the last wanted one shows up; a
// day only partly read is never drawn. null when the report is not built.
async function dailyRevenue(want, maxPages = 20) {
  const byDay = new Map();
  let path = '/v1/tables/refined/vendas_diarias?select=dia,receita&order=dia.desc&limit=10000';
  for (let i = 0; i < maxPages && path; i++) {
    let page;
    try {
      page = await api('GET', path);
    } catch (e) {
      if (e.status === 404) return null;
      throw e;
    }
    for (const r of page.items) byDay.set(r.dia, (byDay.get(r.dia) ?? 0) + Number(r.receita ?? 0));
    path = page.next;
    if (byDay.size > want) break;
  }
  const days = [...byDay.keys()].sort();
  if (path) days.shift(); // stopped inside the oldest day read: leave it out
  return new Map(days.slice(-want).map((d) => [d, byDay.get(d)]));
}

function notBuilt(title, table) {
  return h('figure', { class: 'chart' }, h('figcaption', {}, title),
    h('p', { class: 'muted' }, `The report refined.${table} is not built yet: it appears after a load of the tables it reads.`));
}

export async function renderCharts(main) {
  const grid = h('div', { class: 'charts' });
  clear(main, h('h1', {}, 'REFINED reports'), grid);
  const [daily, top, promos, sentiment] = await Promise.all([
    dailyRevenue(90),
    rows('top_produtos', { select: 'nome,receita', order: 'receita.desc', limit: '10' }),
    rows('desempenho_promocoes', { select: 'nome,uplift', uplift: 'is.not_null', order: 'uplift.desc', limit: '12' }),
    rows('sentimento_produtos', { select: 'produto,posts,sentimento_medio', order: 'dia.desc', limit: '5000' }),
  ]);
  const charts = [];
  if (!daily) charts.push(notBuilt('Daily sales (revenue)', 'vendas_diarias'));
  else {
    const days = [...daily.keys()].sort();
    charts.push(lineChart(`Daily sales (revenue, last ${days.length} days with sales)`, days.map((d) => ({ x: d, y: Math.round(daily.get(d) * 100) / 100 })), { yLabel: 'Revenue' }));
  }
  if (!top) charts.push(notBuilt('Top products', 'top_produtos'));
  else charts.push(barChart('Top products by revenue (last 30 days of sales)', top.map((r) => ({ label: r.nome, value: Number(r.receita) })), { valueLabel: 'Revenue' }));
  if (!promos) charts.push(notBuilt('Promotion uplift', 'desempenho_promocoes'));
  else charts.push(barChart('Promotion uplift (units per day inside vs outside)', promos.map((r) => ({ label: r.nome, value: Number(r.uplift) })), { valueLabel: 'Uplift', percent: true }));
  if (!sentiment) charts.push(notBuilt('Sentiment per product', 'sentimento_produtos'));
  else {
    const by = new Map();
    for (const r of sentiment) {
      const a = by.get(r.produto) ?? { posts: 0, sum: 0 };
      a.posts += Number(r.posts);
      a.sum += Number(r.sentimento_medio) * Number(r.posts);
      by.set(r.produto, a);
    }
    const items = [...by.entries()].sort((a, b) => b[1].posts - a[1].posts).slice(0, 12)
      .map(([p, a]) => ({ label: p ?? '(unknown)', value: Math.round((a.sum / a.posts) * 1000) / 1000 }));
    charts.push(barChart('Average sentiment of the most discussed products (-1 to 1)', items, { valueLabel: 'Sentiment' }));
  }
  clear(grid, charts);
}
