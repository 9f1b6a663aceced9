/**
 * Merge `webgpu-cam evaluate` JSON reports of shards of one run (--skip / --limit) into one
 * report, recompute the per-method summaries, and print the table as Markdown.
 *
 *   node --import tsx --import ./scripts/wgsl-raw.mjs scripts/merge-evaluations.ts OUT.json A.json B.json ...
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { summarise, type MapMetrics } from '../src/engine/metrics/index.js';
import { summaryTable } from '../src/cli/evaluate-report.js';

const [out, ...inputs] = process.argv.slice(2);
if (!out || !inputs.length) {
  console.error('usage: merge-evaluations.ts OUT.json REPORT.json [REPORT.json ...]');
  process.exit(2);
}
const reports = inputs.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const labels = Object.keys(reports[0].perImage);
// Metrics whose settings differ between the reports (ROAD percentiles, gradient-noise levels)
// are not averaged together: they are dropped from the merged summary, with a note.
const same = (pick: (r: { options: Record<string, Record<string, unknown> | undefined> }) => unknown) => new Set(reports.map((r) => JSON.stringify(pick(r) ?? null))).size === 1;
const roadComparable = same((r) => r.options.road);
const gradientComparable = same((r) => r.options.robustness?.gradientLevels);
const inputComparable = same((r) => r.options.robustness?.inputLevels);
const perImage: Record<string, MapMetrics[]> = {};
for (const label of labels) {
  perImage[label] = reports.flatMap((r) => (r.perImage[label] ?? []) as MapMetrics[]).map((m) => ({
    ...m,
    road: roadComparable ? m.road : undefined,
    robustness: m.robustness && {
      gradient: gradientComparable ? m.robustness.gradient : null,
      input: inputComparable ? m.robustness.input : [],
    },
  }));
}
if (!roadComparable) console.log('ROAD settings differ between the reports: ROAD left out of the merged summary');
if (!gradientComparable) console.log('gradient-noise levels differ between the reports: gradient stability left out');
if (!inputComparable) console.log('input-noise levels differ between the reports: input stability left out');
// An image counts only when every method scored it (a stopped shard may end mid-image).
const images = Math.min(...labels.map((l) => perImage[l].length));
const summary = Object.fromEntries(labels.map((l) => [l, summarise(perImage[l].slice(0, images))]));
writeFileSync(out, JSON.stringify({ ...reports[0], command: reports.map((r) => r.command), images, summary, perImage }));
console.log(`${images} images`);
console.log(summaryTable(labels.map((label) => ({ label, summary: summary[label] })), true));
