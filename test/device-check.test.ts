/**
 * scripts/device-check.mjs (the real-GPU check, run from a bundle on a lent machine) on this
 * machine's SwiftShader, with its speed part shrunk to one layer at batch 1: every golden case
 * and method is checked and passes, the summary names the adapter and has per-image times and
 * the per-kernel split. `npm test` builds dist/ first (the script uses only dist/).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GOLDEN_DIR, goldenCaseNames } from './helpers/golden';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('device check', () => {
  it('checks every golden case and method on the GPU and reports the speed summary', () => {
    const args = ['scripts/device-check.mjs', GOLDEN_DIR, '--runs', '1', '--batches', '1', '--bench-cases', 'resnet18-layer4'];
    const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.adapter).toMatch(/SwiftShader/i);
    // Seven methods have golden maps; every case has at least CF-CAM's.
    expect(summary.exactness.checked).toBeGreaterThanOrEqual(goldenCaseNames().length);
    expect(summary.exactness.passed).toBe(summary.exactness.checked);
    expect(summary.exactness.worstVsGolden).toBeLessThanOrEqual(1e-4);
    expect(summary.speed.map((s: { method: string; batch: number }) => `${s.method}@${s.batch}`)).toEqual(['cfcam@1', 'gradcam@1']);
    for (const s of summary.speed) {
      expect(s.shape).toEqual([512, 7, 7]);
      expect(s.gpuMsPerImage).toBeGreaterThan(0);
      expect(s.cpuFastMsPerImage).toBeGreaterThan(0);
    }
    expect(Object.keys(summary.speed[0].kernelsMsPerImage)).toContain('distances/pairwise_distance');
    // The 2048x7x7 targets were not benchmarked in this shrunk run: reported as unknown, not met.
    expect(summary.targets.cfcam2048x7x7Batch1MsPerImage).toBeNull();
    expect(summary.targets.cfcam2048x7x7Batch1Under1ms).toBe(false);

    const bad = spawnSync(process.execPath, ['scripts/device-check.mjs', GOLDEN_DIR, '--batches', '0'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--runs and --batches take positive integers/);
  }, 120_000);
});
