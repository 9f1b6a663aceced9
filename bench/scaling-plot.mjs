/**
 * HTML page of a scaling run (bench/scaling.mjs): one log-log SVG plot per swept axis (ms/image
 * against CF-CAM's pairwise work, or against the batch size), a dashed line of slope 1 (cost
 * proportional to work) for reference, and the table of every point. Self-contained: no
 * scripts, styles or fonts from elsewhere.
 */
import { escapeHtml } from './report-html.mjs';

const SERIES = [
  { key: 'gpu', label: 'GPU engine', colour: '#d62728' },
  { key: 'cpu-fast', label: 'CPU fast path', colour: '#2ca02c' },
  { key: 'cpu-reference', label: 'CPU reference', colour: '#1f77b4' },
  { key: 'python', label: 'Python reference', colour: '#7f7f7f' },
];

const AXIS_TITLES = {
  c: { title: 'Channels C (7x7, batch 1)', x: 'pairwise work m(m-1)/2 · HW, m = 0.75 C' },
  hw: { title: 'Spatial size HxW (C = 512, batch 1)', x: 'pairwise work m(m-1)/2 · HW, m = 0.75 C' },
  batch: { title: 'Batch size', x: 'images per call' },
};

const WIDTH = 460;
const HEIGHT = 320;
const MARGIN = { left: 62, right: 14, top: 30, bottom: 46 };

/** Ticks on a log axis over [lo, hi]: decades, plus 2 and 5 between them on a short axis. */
function logTicks(lo, hi) {
  const steps = Math.log10(hi / lo) < 2 ? [1, 2, 5] : [1];
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of steps) out.push(m * 10 ** e);
  return out.filter((t) => t >= lo && t <= hi);
}

function tickLabel(v) {
  if (v >= 1e4 || v < 1e-2) return `1e${Math.round(Math.log10(v))}`;
  return String(Number(v.toPrecision(3)));
}

/** One axis' plot as an SVG string. */
function plot(axis, rows) {
  const xOf = (row) => (axis === 'batch' ? row.batch : row.work);
  const values = rows.flatMap((row) => SERIES.map((s) => row[s.key]).filter((v) => v !== null && v > 0));
  if (values.length === 0) return '<p>(no point measured on this axis)</p>';
  const xs = rows.map(xOf);
  const [xLo, xHi] = [Math.min(...xs) / 1.3, Math.max(...xs) * 1.3];
  const [yLo, yHi] = [Math.min(...values) / 1.5, Math.max(...values) * 1.5];
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x) => MARGIN.left + ((Math.log10(x) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))) * innerW;
  const py = (y) => MARGIN.top + innerH - ((Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * innerH;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">`];
  parts.push(`<text x="${MARGIN.left}" y="16" font-weight="bold">${escapeHtml(AXIS_TITLES[axis].title)}</text>`);
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${innerW}" height="${innerH}" fill="none" stroke="#999"/>`);
  for (const t of logTicks(yLo, yHi)) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + innerW}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 4}" y="${py(t) + 4}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  for (const t of logTicks(xLo, xHi)) {
    parts.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${MARGIN.top}" y2="${MARGIN.top + innerH}" stroke="#eee"/>`);
    parts.push(`<text x="${px(t)}" y="${MARGIN.top + innerH + 14}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + innerW / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escapeHtml(AXIS_TITLES[axis].x)}</text>`);
  parts.push(`<text transform="translate(14 ${MARGIN.top + innerH / 2}) rotate(-90)" text-anchor="middle">ms / image</text>`);
  // Slope-1 guide through the CPU reference's first point: a path parallel to it scales linearly.
  const anchor = rows.find((row) => row['cpu-reference'] !== null);
  if (axis !== 'batch' && anchor) {
    const k = anchor['cpu-reference'] / xOf(anchor);
    const [x0, x1] = [Math.max(xLo, yLo / k), Math.min(xHi, yHi / k)];
    if (x1 > x0) parts.push(`<line x1="${px(x0)}" y1="${py(k * x0)}" x2="${px(x1)}" y2="${py(k * x1)}" stroke="#bbb" stroke-dasharray="4 3"><title>cost proportional to work</title></line>`);
  }
  SERIES.forEach((series, i) => {
    const points = rows.filter((row) => row[series.key] !== null && row[series.key] > 0).map((row) => [px(xOf(row)), py(row[series.key]), row]);
    if (points.length === 0) return;
    parts.push(`<polyline fill="none" stroke="${series.colour}" stroke-width="2" points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y, row] of points) {
      parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${series.colour}"><title>${escapeHtml(`${series.label} ${row.shape.join('x')} batch ${row.batch}: ${row[series.key].toFixed(2)} ms/image`)}</title></circle>`);
    }
    const ly = MARGIN.top + 12 + i * 14;
    parts.push(`<line x1="${MARGIN.left + 8}" x2="${MARGIN.left + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.colour}" stroke-width="2"/>`);
    parts.push(`<text x="${MARGIN.left + 28}" y="${ly}">${escapeHtml(series.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function table(rows) {
  // null: skipped as too slow (listed in row.skipped), or not timed at all (Python on the batch
  // axis, or not installed).
  const cell = (row, key) => {
    if (row[key] !== null) return `<td>${row[key].toFixed(2)}</td>`;
    return row.skipped.includes(key) ? '<td class="skip">too slow</td>' : '<td class="skip">-</td>';
  };
  const body = rows
    .map((row) => `<tr><td>${escapeHtml(row.axis)}</td><td>${row.shape.join('x')}</td><td>${row.batch}</td><td>${row.work.toExponential(2)}</td>${SERIES.map((s) => cell(row, s.key)).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr><th>axis</th><th>C x H x W</th><th>batch</th><th>work</th>${SERIES.map((s) => `<th>${escapeHtml(s.label)} ms/image</th>`).join('')}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** @param {{date: string, adapter: string | null, runs: number, maxCallS: number, python: boolean, rows: any[]}} report */
export function scalingHtml(report) {
  const axes = [...new Set(report.rows.map((row) => row.axis))];
  const plots = axes.map((axis) => plot(axis, report.rows.filter((row) => row.axis === axis))).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>webgpu-cam CF-CAM scaling</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td.skip{color:#999}.plots{display:flex;flex-wrap:wrap;gap:12px}</style>
</head><body>
<h1>CF-CAM scaling</h1>
<p>${escapeHtml(report.date)} · adapter: ${escapeHtml(report.adapter ?? 'n/a')} · median of ${report.runs} runs per point · a path is skipped where its predicted call time exceeds ${report.maxCallS} s${report.python ? '' : ' · Python reference not installed'}.</p>
<div class="plots">
${plots}
</div>
${table(report.rows)}
</body></html>
`;
}
