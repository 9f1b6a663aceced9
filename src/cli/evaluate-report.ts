/** The evaluate command's outputs: the summary table (stdout), the HTML report, the progress bar. */
import { curveSvg, type MetricSummary } from '../engine/metrics/index.js';

export interface MethodReport {
  label: string;
  summary: MetricSummary;
}

const fmt = (v: number | undefined, digits = 3) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));

/** Table columns: header, value, digits; and whether higher is better (for the docs). */
export const COLUMNS: { header: string; value: (s: MetricSummary) => number | undefined; digits: number; better: 'higher' | 'lower' }[] = [
  { header: 'AD%', value: (s) => s.averageDrop, digits: 2, better: 'lower' },
  { header: 'AD+%', value: (s) => s.averageDropClamped, digits: 2, better: 'lower' },
  { header: 'IC%', value: (s) => s.increaseRate, digits: 1, better: 'higher' },
  { header: 'AI', value: (s) => s.averageIncrease, digits: 4, better: 'higher' },
  { header: 'Del', value: (s) => s.deletionAuc, digits: 4, better: 'lower' },
  { header: 'Ins', value: (s) => s.insertionAuc, digits: 4, better: 'higher' },
  { header: 'MoRF', value: (s) => s.roadMorf, digits: 4, better: 'lower' },
  { header: 'LeRF', value: (s) => s.roadLerf, digits: 4, better: 'higher' },
  { header: 'ROAD', value: (s) => s.roadCombined, digits: 4, better: 'higher' },
  { header: 'dConf', value: (s) => s.confidenceChange, digits: 4, better: 'higher' },
  { header: 'SSIMg', value: (s) => (s.gradientSsim ? s.gradientSsim.reduce((a, p) => a + p.ssim, 0) / s.gradientSsim.length : undefined), digits: 4, better: 'higher' },
  { header: 'SSIMx', value: (s) => (s.inputSsim ? s.inputSsim.reduce((a, p) => a + p.ssim, 0) / s.inputSsim.length : undefined), digits: 4, better: 'higher' },
  { header: 'MSEx', value: (s) => (s.inputSsim ? s.inputSsim.reduce((a, p) => a + p.mse, 0) / s.inputSsim.length : undefined), digits: 5, better: 'lower' },
  { header: 'PG%', value: (s) => s.pointingGame, digits: 1, better: 'higher' },
  { header: 'EPG', value: (s) => s.energyPointingGame, digits: 4, better: 'higher' },
];

/** The columns some method has a value for. */
function liveColumns(reports: readonly MethodReport[]) {
  return COLUMNS.filter((c) => reports.some((r) => c.value(r.summary) !== undefined));
}

export function summaryTable(reports: readonly MethodReport[], markdown = false): string {
  const cols = liveColumns(reports);
  const rows = reports.map((r) => [r.label, ...cols.map((c) => fmt(c.value(r.summary), c.digits)), fmt(r.summary.modelRunsPerImage, 0), fmt(r.summary.msPerImage, 0)]);
  const header = ['method', ...cols.map((c) => c.header), 'runs/img', 'ms/img'];
  if (markdown) {
    return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface HtmlExample {
  image: string;
  classIndex: number;
  /** data: URLs of PNG overlays, per method label. */
  overlays: { label: string; png: string; deletionAuc?: number; insertionAuc?: number }[];
}

export function htmlReport(options: { title: string; command: string; reports: readonly MethodReport[]; examples: readonly HtmlExample[]; notes: string[] }): string {
  const { reports } = options;
  const curves = (pick: (s: MetricSummary) => number[] | undefined) => reports.filter((r) => pick(r.summary)).map((r) => ({ label: r.label, values: pick(r.summary)! }));
  const del = curves((s) => s.deletionCurve);
  const ins = curves((s) => s.insertionCurve);
  const table = summaryTable(reports);
  const examples = options.examples
    .map(
      (e) =>
        `<h3>${esc(e.image)} (class ${e.classIndex})</h3><div class="row">${e.overlays
          .map((o) => `<figure><img src="${o.png}" width="160" alt="${esc(o.label)}"><figcaption>${esc(o.label)}${o.deletionAuc !== undefined ? `<br>del ${o.deletionAuc.toFixed(3)} ins ${o.insertionAuc!.toFixed(3)}` : ''}</figcaption></figure>`)
          .join('')}</div>`,
    )
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(options.title)}</title><style>
body{font-family:system-ui,sans-serif;margin:20px;max-width:1200px}pre{background:#f4f4f4;padding:8px;overflow:auto}.row{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;text-align:center;font-size:12px}
</style></head><body><h1>${esc(options.title)}</h1><p><code>${esc(options.command)}</code></p>
<h2>Summary (means over images)</h2><pre>${esc(table)}</pre><ul>${options.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
<h2>Deletion and insertion curves (mean class probability vs perturbed fraction)</h2><div class="row">${del.length ? curveSvg('deletion (lower is better)', del) : ''}${ins.length ? curveSvg('insertion (higher is better)', ins) : ''}</div>
<h2>Examples</h2>${examples}</body></html>`;
}

/** A one-line progress bar on stderr, redrawn in place; silent when stderr is not a terminal. */
export class ProgressBar {
  private readonly enabled: boolean;
  private readonly started = Date.now();
  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(out.isTTY);
  }

  update(done: number, label: string): void {
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round((width * done) / Math.max(1, this.total));
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : 0;
    this.out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total} ${label.slice(0, 40).padEnd(40)} ETA ${eta.toFixed(0)}s`);
  }

  finish(): void {
    if (this.enabled) this.out.write('\n');
  }
}
