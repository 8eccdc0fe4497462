// Two small SVG charts (a line over time, horizontal bars), drawn with DOM
// calls only: nothing vendored, nothing inline for the CSP to refuse. Each
// chart is a <figure> with a caption, an SVG marked as an image with a
// summary, and its numbers in a table under <details> for screen readers
// and keyboards.
import { fmtNum, h, svg, table } from './dom.js';

// The drawing's width in px: the screen's (less the page's margins), at
// most 640, so labels keep their size on a phone.
function width() {
  return Math.max(300, Math.min(640, (window.innerWidth || 640) - 70));
}

function figure(title, picture, headers, rows, summary) {
  return h('figure', { class: 'chart' }, h('figcaption', {}, title),
    h('div', { class: 'chart-box', role: 'img', 'aria-label': `${title}: ${summary}` }, picture),
    h('details', {}, h('summary', {}, 'Data'), table(headers, rows)));
}

export function lineChart(title, points, { yLabel = '' } = {}) {
  if (!points.length) return h('figure', { class: 'chart' }, h('figcaption', {}, title), h('p', { class: 'muted' }, 'No data yet.'));
  const W = width();
  const H = 240, L = 64, R = 10, T = 10, B = 30;
  const ys = points.map((p) => p.y);
  const max = Math.max(...ys, 0), min = Math.min(...ys, 0);
  const sx = (i) => L + (points.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
  const sy = (v) => T + (H - T - B) * (1 - (v - min) / (max - min || 1));
  const ticks = [min, (min + max) / 2, max];
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${sx(i).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
  const every = Math.max(1, Math.ceil(points.length / (W < 500 ? 3 : 6)));
  const pic = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'svg-chart', focusable: 'false' },
    ticks.map((t) => [svg('line', { x1: L, x2: W - R, y1: sy(t), y2: sy(t), class: 'gridline' }),
      svg('text', { x: L - 6, y: sy(t) + 4, 'text-anchor': 'end', class: 'tick' }, fmtNum(Math.round(t)))]),
    points.map((p, i) => (i % every === 0 ? svg('text', { x: sx(i), y: H - 8, 'text-anchor': 'middle', class: 'tick' }, p.x) : null)),
    svg('path', { d: path, class: 'line' }),
    points.map((p, i) => svg('circle', { cx: sx(i), cy: sy(p.y), r: 3, class: 'dot' }, svg('title', {}, `${p.x}: ${fmtNum(p.y)}`))));
  const last = points[points.length - 1];
  return figure(title, pic, ['Day', yLabel], points.map((p) => [p.x, fmtNum(p.y)]),
    `${points.length} points from ${points[0].x} to ${last.x}, between ${fmtNum(min)} and ${fmtNum(max)}`);
}

export function barChart(title, items, { valueLabel = '', percent = false } = {}) {
  if (!items.length) return h('figure', { class: 'chart' }, h('figcaption', {}, title), h('p', { class: 'muted' }, 'No data yet.'));
  const W = width();
  const row = 26, L = W < 500 ? 120 : 190, R = 70;
  const chars = W < 500 ? 17 : 28;
  const H = items.length * row + 10;
  const vals = items.map((i) => i.value);
  const max = Math.max(...vals, 0), min = Math.min(...vals, 0);
  const sx = (v) => L + ((W - L - R) * (v - min)) / (max - min || 1);
  const fmt = (v) => (percent ? `${fmtNum(Math.round(v * 1000) / 10)}%` : fmtNum(v));
  const pic = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'svg-chart', focusable: 'false' },
    svg('line', { x1: sx(0), x2: sx(0), y1: 0, y2: H, class: 'axis' }),
    items.map((it, i) => {
      const y = 5 + i * row;
      const x0 = Math.min(sx(0), sx(it.value)), x1 = Math.max(sx(0), sx(it.value));
      return [svg('text', { x: L - 8, y: y + 16, 'text-anchor': 'end', class: 'tick' }, it.label.length > chars ? `${it.label.slice(0, chars - 1)}…` : it.label),
        svg('rect', { x: x0, y: y + 3, width: Math.max(1, x1 - x0), height: row - 8, class: it.value < 0 ? 'bar-neg' : 'bar-pos' }, svg('title', {}, `${it.label}: ${fmt(it.value)}`)),
        svg('text', { x: x1 + 4, y: y + 16, class: 'tick' }, fmt(it.value))];
    }));
  return figure(title, pic, ['', valueLabel], items.map((i) => [i.label, fmt(i.value)]),
    `${items.length} bars; highest ${items[0].label} at ${fmt(items[0].value)}`);
}
