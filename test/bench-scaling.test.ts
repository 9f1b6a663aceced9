/**
 * `npm run bench -- --scaling` on a tiny sweep (real CLI, real SwiftShader): every path is timed
 * at every point, the work grows as CF-CAM's pair count, a too-slow path is skipped and said so,
 * and the HTML page holds one plot per axis and the table. `npm test` builds dist/ first.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-scaling-test-'));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

function bench(args: string[]) {
  return spawnSync(process.execPath, ['bench/run.mjs', '--scaling', ...args], { cwd: ROOT, encoding: 'utf8' });
}

interface Row {
  axis: string;
  shape: number[];
  batch: number;
  work: number;
  skipped: string[];
  gpu: number | null;
  'cpu-fast': number | null;
  'cpu-reference': number | null;
}

describe('bench --scaling', () => {
  it('times every path on each axis and plots them', () => {
    const out = path.join(OUT, 'all');
    const result = bench(['--axes', 'c,hw,batch', '--c', '24,48', '--hw', '3,5', '--batch', '1,3', '--batch-shape', '24x4x4', '--runs', '1', '--out', out]);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'scaling.json'), 'utf8')) as { adapter: string; rows: Row[] };
    expect(report.adapter).toMatch(/SwiftShader/i);
    expect(report.rows.map((r) => `${r.axis}:${r.shape.join('x')}:${r.batch}`)).toEqual([
      'c:24x7x7:1', 'c:48x7x7:1', 'hw:512x3x3:1', 'hw:512x5x5:1', 'batch:24x4x4:1', 'batch:24x4x4:3',
    ]);
    for (const row of report.rows) {
      expect(row.skipped).toEqual([]);
      for (const key of ['gpu', 'cpu-fast', 'cpu-reference'] as const) expect(row[key]).toBeGreaterThan(0);
    }
    // m = 0.75 C channels below the 75th-percentile norm: 18 at C=24 gives 153 pairs x 49 pixels.
    expect(report.rows[0].work).toBe(153 * 49);
    expect(report.rows[1].work).toBe(((36 * 35) / 2) * 49);
    const html = readFileSync(path.join(out, 'scaling.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html.match(/<tr><td>/g)).toHaveLength(report.rows.length);
  });

  it('skips a path predicted to exceed --max-call, and says so', () => {
    const out = path.join(OUT, 'skip');
    const result = bench(['--axes', 'c', '--c', '24,96', '--runs', '1', '--max-call', '0.0001', '--out', out]);
    expect(result.status, result.stderr).toBe(0);
    const rows = (JSON.parse(readFileSync(path.join(out, 'scaling.json'), 'utf8')) as { rows: Row[] }).rows;
    // The first point has nothing to predict from, so it is timed; the second is predicted too slow.
    expect(rows[0].gpu).toBeGreaterThan(0);
    expect(rows[1].skipped).toEqual(expect.arrayContaining(['gpu', 'cpu-fast', 'cpu-reference']));
    expect(rows[1].gpu).toBeNull();
    expect(result.stdout).toContain('skipped as too slow: gpu, cpu-fast, cpu-reference');
    expect(readFileSync(path.join(out, 'scaling.html'), 'utf8')).toContain('too slow');
  });

  it('rejects bad options with exit code 2', () => {
    const unknown = bench(['--axes', 'c,depth']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown axis depth');
    const badList = bench(['--c', '256,abc']);
    expect(badList.status).toBe(2);
    expect(badList.stderr).toContain('--c needs a comma list of positive integers');
  });
});
