/**
 * HTML report of a browser benchmark run (bench/browser.ts): one self-contained page with an
 * inline SVG bar chart of images/second per case (log scale), the table of all cases, and the
 * per-kernel GPU times of each case. No external scripts, styles or fonts.
 */

/** @type {Record<string, string>} */
const METHOD_COLOURS = {
  cfcam: '#d62728',
  gradcam: '#1f77b4',
  gradcampp: '#ff7f0e',
  xgradcam: '#2ca02c',
  layercam: '#9467bd',
  hirescam: '#8c564b',
  eigencam: '#17becf',
};

/** @param {unknown} value */
export function escapeHtml(value) {
  /** @type {Record<string, string>} */
  const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  return String(value).replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

/** @param {number | undefined} v @param {number} [digits] */
function fmt(v, digits = 2) {
  return v === undefined || v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** @param {number} v */
function fmtRate(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** @param {string} method */
function colour(method) {
  return METHOD_COLOURS[method] ?? '#7f7f7f';
}

/**
 * Horizontal bar chart of images/second, one bar per case, grouped by layer (log scale:
 * rates span several decades between Grad-CAM at 7x7 and CF-CAM at 2048 channels).
 * @param {Array<any>} cases
 */
export function renderChart(cases) {
  const rows = [];
  let lastLayer;
  for (const c of cases) {
    if (c.layer !== lastLayer) {
      rows.push({ header: c.layer });
      lastLayer = c.layer;
    }
    rows.push({ c });
  }
  const rates = cases.filter((c) => c.ok && c.gpu).map((c) => c.gpu.imagesPerSecond);
  const rowH = 18;
  const labelW = 170;
  const plotW = 560;
  const rightW = 80;
  const top = 44;
  const width = labelW + plotW + rightW;
  const height = top + rows.length * rowH + 30;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="images per second per case" font-family="system-ui, sans-serif" font-size="11">`);
  parts.push(`<text x="${labelW}" y="14" font-size="13" font-weight="bold">images / second (log scale; higher is better; wall time incl. upload and readback)</text>`);
  if (rates.length === 0) {
    parts.push(`<text x="${labelW}" y="${top + 14}">no successful cases</text></svg>`);
    return parts.join('');
  }
  // From the decade below the slowest case to a little above the fastest one.
  const lo = Math.floor(Math.log10(Math.min(...rates)));
  const hi = Math.max(lo + 1, Math.log10(Math.max(...rates)) + 0.1);
  const x = (/** @type {number} */ v) => labelW + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  // Grid lines at 1, 2 and 5 times each decade, labelled at the top and the bottom.
  for (let d = lo; d <= Math.ceil(hi); d++) {
    for (const f of [1, 2, 5]) {
      const v = f * 10 ** d;
      if (Math.log10(v) > hi) break;
      const gx = x(v).toFixed(1);
      parts.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 24}" stroke="${f === 1 ? '#ccc' : '#eee'}"/>`);
      if (f === 1 || hi - lo <= 3) {
        const label = escapeHtml(fmtRate(v));
        parts.push(`<text x="${gx}" y="${top - 8}" text-anchor="middle" fill="#555">${label}</text>`);
        parts.push(`<text x="${gx}" y="${height - 10}" text-anchor="middle" fill="#555">${label}</text>`);
      }
    }
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    if (row.header) {
      parts.push(`<text x="4" y="${y + 13}" font-weight="bold">${escapeHtml(row.header)}</text>`);
      return;
    }
    const c = row.c;
    const label = `${c.method}, batch ${c.batch}`;
    parts.push(`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${escapeHtml(label)}</text>`);
    if (c.skipped) {
      parts.push(`<text x="${labelW + 4}" y="${y + 13}" fill="#888">skipped (too slow here)<title>${escapeHtml(c.skipped)}</title></text>`);
      return;
    }
    if (!c.ok || !c.gpu) {
      parts.push(`<text x="${labelW + 4}" y="${y + 13}" fill="#a00">failed</text>`);
      return;
    }
    const v = c.gpu.imagesPerSecond;
    const w = Math.max(1, x(v) - labelW);
    parts.push(
      `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 5}" fill="${colour(c.method)}">` +
        `<title>${escapeHtml(`${c.method} ${c.layer} batch ${c.batch}: ${fmtRate(v)} images/s, ${fmt(c.gpu.perImageMs, 3)} ms/image`)}</title></rect>`,
    );
    parts.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 13}" fill="#333">${escapeHtml(fmtRate(v))}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** @param {any} c */
function cpuCell(c) {
  if (!c.cpu) return '-';
  if ('skipped' in c.cpu) return `<span title="${escapeHtml(c.cpu.skipped)}">skipped</span>`;
  return `${fmt(c.cpu.perImageMs)}${c.cpu.runs === 0 ? ' (1 warm-up run)' : ''}`;
}

/** @param {any} c */
function kernelDetails(c) {
  const entries = Object.entries(c.kernels ?? {}).sort((a, b) => b[1].batchMs - a[1].batchMs);
  if (entries.length === 0) return '';
  const total = entries.reduce((s, [, k]) => s + k.batchMs, 0);
  const rows = entries
    .map(([name, k]) => `<tr><td>${escapeHtml(name)}</td><td>${fmt(k.batchMs, 3)}</td><td>${fmt(k.perImageMs, 4)}</td><td>${fmt((100 * k.batchMs) / (total || 1), 1)}%</td></tr>`)
    .join('');
  return `<details><summary>${escapeHtml(`${c.method} ${c.layer} batch ${c.batch}`)}: ${entries.length} kernels, ${fmt(total, 2)} ms per batch</summary>` +
    `<table class="kernels"><thead><tr><th>stage/kernel</th><th>ms/batch</th><th>ms/image</th><th>share</th></tr></thead><tbody>${rows}</tbody></table></details>`;
}

/**
 * @param {any} report the JSON report written by bench/browser.ts
 * @returns {string}
 */
export function renderHtmlReport(report) {
  const cases = report.cases ?? [];
  const config = report.config ?? {};
  const caseRows = cases
    .map((/** @type {any} */ c) => {
      const head = `<td>${escapeHtml(c.method)}</td><td>${escapeHtml(c.layer)}</td><td>${c.batch}</td>`;
      if (c.skipped) return `<tr>${head}<td colspan="9" class="notes">skipped: ${escapeHtml(c.skipped)}</td></tr>`;
      if (!c.ok || !c.gpu) return `<tr>${head}<td colspan="9" class="error">${escapeHtml(c.error ?? 'failed')}</td></tr>`;
      const cf = c.cfcam ? `${c.cfcam.clusters} clusters, ${c.cfcam.important} important, ${c.cfcam.noise} noise` : '';
      const split = c.model ? `ORT ${fmt(c.model.forwardMs, 1)} ms + CAM ${fmt(c.model.camMs, 1)} ms` : '';
      const notes = [split, ...(c.notes ?? []), ...(c.cpu && 'skipped' in c.cpu ? [`CPU skipped: ${c.cpu.skipped}`] : []), cf].filter(Boolean).join('; ');
      return `<tr>${head}<td>${fmt(c.gpu.perImageMs, 3)}</td><td>${fmtRate(c.gpu.imagesPerSecond)}</td><td>${fmt(c.gpu.batchMs, 1)}</td>` +
        `<td>${fmt(c.kernelsPerImageMs, 3)}</td><td>${cpuCell(c)}</td><td>${c.speedup === undefined ? '-' : `${fmt(c.speedup, 1)}x`}</td>` +
        `<td>${c.maxAbsDiffVsCpu === undefined ? '-' : c.maxAbsDiffVsCpu.toExponential(1)}</td><td>${c.gpu.runs}</td><td class="notes">${escapeHtml(notes)}</td></tr>`;
    })
    .join('\n');
  const failed = cases.filter((/** @type {any} */ c) => !c.ok && !c.skipped).length;
  const skipped = cases.filter((/** @type {any} */ c) => c.skipped).length;
  const errors = [report.error, ...(report.pageErrors ?? [])].filter(Boolean);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>webgpu-cam browser benchmark ${escapeHtml(report.date ?? '')}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1200px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right; vertical-align: top; }
th:nth-child(-n+2), td:nth-child(-n+2), td.notes, td.error, table.kernels td:first-child { text-align: left; }
td.error { color: #a00; }
td.notes { font-size: 12px; color: #555; }
dt { font-weight: bold; float: left; clear: left; width: 11rem; }
dd { margin-left: 11rem; }
code { background: #f4f4f4; padding: 0 0.2rem; }
details { margin: 0.2rem 0; }
.warn { background: #fff3cd; padding: 0.5rem 1rem; border-radius: 4px; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>webgpu-cam browser benchmark</h1>
<dl>
<dt>date</dt><dd>${escapeHtml(report.date ?? '')} (${escapeHtml(report.durationS ?? '?')} s)</dd>
<dt>adapter</dt><dd>${escapeHtml(report.adapter ?? 'n/a')} (timestamp queries: ${report.timestampQuery ? 'yes' : 'no'})</dd>
<dt>browser</dt><dd>${escapeHtml(report.browser?.version ?? '')} <code>${escapeHtml(report.browser?.executable ?? '')}</code></dd>
<dt>flags</dt><dd><code>${escapeHtml((report.browser?.flags ?? []).join(' '))}</code></dd>
<dt>host</dt><dd>${escapeHtml(`${report.host?.cpus ?? ''}, ${report.host?.cores ?? '?'} cores, ${report.host?.platform ?? ''}, Node ${report.host?.node ?? ''}`)}</dd>
<dt>matrix</dt><dd>${escapeHtml(`${(config.methods ?? []).join(', ')} x ${(config.shapes ?? []).join(', ')} x batch ${(config.batches ?? []).join(', ')}`)}</dd>
<dt>runs</dt><dd>${escapeHtml(`per case: ${config.warmup ?? '?'} warm-up (skipped for big cases: one call predicted over a quarter of the budget), 1 kernel-timing call, up to ${config.runs ?? '?'} timed runs within ${(config.budgetMs ?? 0) / 1000} s; maps ${config.outSize ?? '?'}x${config.outSize ?? '?'}; CF-CAM mode ${config.mode ?? '?'}`)}</dd>
${report.model ? `<dt>model</dt><dd>${escapeHtml(`${report.model.name}: target ${report.model.target} [${report.model.activationsShape.join(',')}], input [${report.model.inputShape.join(',')}], ORT on ${report.model.ortBackend}${report.model.sharesDevice === undefined ? '' : report.model.sharesDevice ? ' sharing our device (zero-copy)' : ' (outputs copied into our device)'}${report.model.fallbackReason ? ` (${report.model.fallbackReason})` : ''}; forward + gradients ${fmt(report.model.forwardMs, 1)} ms per run`)}</dd>` : ''}
<dt>status</dt><dd>${escapeHtml(report.status ?? '?')}, ${cases.length} cases${failed ? `, ${failed} failed` : ''}${skipped ? `, ${skipped} skipped as too slow (max ${(config.maxCallMs ?? 0) / 1000} s per call)` : ''}</dd>
</dl>
${errors.length ? `<div class="warn">${escapeHtml(errors.join('\n'))}</div>` : ''}
<h2>Throughput</h2>
${renderChart(cases)}
<h2>Cases</h2>
${report.model ? '<p>Model cases: ms/image is the median ORT run (forward pass with the gradient graph, until the device is idle) plus the median CAM call on ORT\'s output buffers (kernels and readback of the map).</p>\n' : ''}<p>Wall time is the median of the timed runs of one <code>engine.compute</code> call for the whole
batch (upload of activations and gradients, every kernel, readback of the maps), divided by the
batch size. GPU kernel time is the sum of the timestamp-query times of all dispatches, from one
untimed call with <code>timing: 'kernel'</code> after the warm-up (one compute pass per dispatch: on some
adapters, SwiftShader included, the sum can exceed the wall time of a normal call). The CPU reference runs on one image of the
same layer; CPU/GPU is its time per image over the GPU wall time per image.</p>
<table>
<thead><tr><th>method</th><th>layer</th><th>batch</th><th>ms/image (wall)</th><th>images/s</th><th>ms/batch</th><th>GPU kernels ms/image</th><th>CPU ms/image</th><th>CPU/GPU</th><th>max |GPU-CPU| (image 0)</th><th>runs</th><th>notes</th></tr></thead>
<tbody>
${caseRows}
</tbody>
</table>
<h2>GPU time per kernel</h2>
${cases.map(kernelDetails).join('\n')}
</body>
</html>
`;
}
