/**
 * The CPU reference against the golden fixtures produced by the original implementations
 * (cfcam.py with numpy/scikit-learn, and pytorch-grad-cam for the Grad-CAM family).
 * Set REFERENCE_REPORT=1 to print the measured differences per case and method.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import type { CamInput } from '../src/engine/types';
import type { CamMethod } from '../src/engine/methods/registry';
import { goldenCaseNames, loadGoldenCase, maxAbsDiff, type GoldenCase } from './helpers/golden';

const FAMILY: ReadonlyArray<Exclude<CamMethod, 'cfcam'>> = ['gradcam', 'gradcampp', 'xgradcam', 'layercam', 'hirescam', 'eigencam'];
const MAP_TOL = 1e-4;
const WEIGHT_TOL = 1e-5;
const REL_TOL = 1e-5;

function inputOf(...cases: GoldenCase[]): CamInput {
  const { channels, height, width, output_size } = cases[0].meta;
  const size = channels * height * width;
  const activations = new Float32Array(cases.length * size);
  const gradients = new Float32Array(cases.length * size);
  cases.forEach((c, b) => {
    activations.set(c.activations, b * size);
    gradients.set(c.gradients, b * size);
  });
  return {
    shape: { batch: cases.length, channels, height, width, outHeight: output_size, outWidth: output_size },
    activations,
    gradients,
  };
}

function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-30);
}

const report: Record<string, Record<string, number>> = {};
function record(name: string, key: string, value: number): void {
  (report[name] ??= {})[key] = value;
}

afterAll(() => {
  if (process.env.REFERENCE_REPORT) {
    const rows = Object.entries(report).map(([name, r]) => ({ case: name, ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.toExponential(2)])) }));
    console.table(rows);
  }
});

describe.each(goldenCaseNames())('golden case %s', (name) => {
  const golden = loadGoldenCase(name);
  const { meta } = golden;

  it('CF-CAM reproduces labels, eps, threshold, counts, weights and map', () => {
    const { maps, cfcam } = computeCamCpu('cfcam', inputOf(golden));
    expect(cfcam).toBeDefined();
    const d = cfcam!;
    // Labels must be identical, ids included.
    const mismatched: number[] = [];
    for (let k = 0; k < meta.channels; k++) if (d.labels[k] !== golden.labels[k]) mismatched.push(k);
    expect(mismatched, `channels with different labels`).toEqual([]);

    expect(relErr(d.eps[0], meta.eps)).toBeLessThanOrEqual(REL_TOL);
    expect(relErr(d.normThreshold[0], meta.norm_threshold)).toBeLessThanOrEqual(REL_TOL);
    expect(d.minSamples[0]).toBe(meta.min_samples);
    expect(d.clusters[0]).toBe(meta.clusters);
    expect(d.important[0]).toBe(meta.important);
    expect(d.noise[0]).toBe(meta.noise);

    const weightDiff = maxAbsDiff(d.weights, golden.weights);
    record(name, 'cfcam.weights', weightDiff);
    expect(weightDiff).toBeLessThanOrEqual(WEIGHT_TOL);

    const mapDiff = maxAbsDiff(maps, golden.maps.cam);
    record(name, 'cfcam', mapDiff);
    expect(mapDiff).toBeLessThanOrEqual(MAP_TOL);
  });

  it.each(FAMILY)('%s map matches pytorch-grad-cam', (method) => {
    const expected = golden.maps[method];
    expect(expected, `${method}.npy missing`).toBeDefined();
    const { maps } = computeCamCpu(method, inputOf(golden));
    expect(maps.length).toBe(meta.output_size * meta.output_size);
    const diff = maxAbsDiff(maps, expected);
    record(name, method, diff);
    expect(diff).toBeLessThanOrEqual(MAP_TOL);
  });
});

describe('batches', () => {
  // Three golden cases of equal [C,H,W], stacked into one [3,C,H,W] call.
  function pickBatch(): GoldenCase[] {
    const byShape = new Map<string, GoldenCase[]>();
    for (const name of goldenCaseNames()) {
      const c = loadGoldenCase(name);
      const key = `${c.meta.channels}x${c.meta.height}x${c.meta.width}x${c.meta.output_size}`;
      const list = byShape.get(key) ?? [];
      list.push(c);
      byShape.set(key, list);
    }
    const group = [...byShape.values()].find((list) => list.length >= 3);
    if (!group) throw new Error('no three golden cases share C, H, W');
    return group.slice(0, 3);
  }
  const cases = pickBatch();

  it.each(['cfcam', ...FAMILY] as CamMethod[])('%s: image b of a batch equals that image alone', (method) => {
    const batched = computeCamCpu(method, inputOf(...cases));
    const mapSize = batched.shape.outHeight * batched.shape.outWidth;
    const C = batched.shape.channels;
    expect(batched.maps.length).toBe(3 * mapSize);
    cases.forEach((c, b) => {
      const alone = computeCamCpu(method, inputOf(c));
      expect(batched.maps.subarray(b * mapSize, (b + 1) * mapSize)).toEqual(alone.maps);
      if (method === 'cfcam') {
        const bd = batched.cfcam!;
        const ad = alone.cfcam!;
        expect(bd.labels.subarray(b * C, (b + 1) * C)).toEqual(ad.labels);
        expect(bd.weights.subarray(b * C, (b + 1) * C)).toEqual(ad.weights);
        for (const key of ['eps', 'normThreshold', 'minSamples', 'clusters', 'important', 'noise'] as const) {
          expect(bd[key][b], key).toBe(ad[key][0]);
        }
        // And the batched labels still match the golden labels.
        expect(Array.from(bd.labels.subarray(b * C, (b + 1) * C))).toEqual(Array.from(c.labels));
      }
    });
  });
});
