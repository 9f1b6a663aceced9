import { describe, expect, it } from 'vitest';
import { goldenCaseNames, loadGoldenCase, maxAbsDiff, type GoldenCase } from './helpers/golden';
import { testEngine } from './helpers/gpu';
import type { CamInput } from '../src/engine/types';

function inputOf(c: GoldenCase): CamInput {
  const { channels, height, width, output_size } = c.meta;
  return {
    shape: { batch: 1, channels, height, width, outHeight: output_size, outWidth: output_size },
    activations: c.activations,
    gradients: c.gradients,
  };
}

function relative(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
}

describe('CF-CAM on the GPU vs the golden reference', () => {
  for (const name of goldenCaseNames()) {
    it(`${name}: labels, eps, threshold, weights and map`, async () => {
      const golden = loadGoldenCase(name);
      const engine = await testEngine();
      const run = await engine.compute('cfcam', inputOf(golden));
      const details = run.cfcam!;
      expect(Array.from(details.labels)).toEqual(Array.from(golden.labels));
      expect(relative(details.eps[0], golden.meta.eps)).toBeLessThanOrEqual(1e-5);
      expect(relative(details.normThreshold[0], golden.meta.norm_threshold)).toBeLessThanOrEqual(1e-5);
      expect(details.minSamples[0]).toBe(golden.meta.min_samples);
      expect(details.clusters[0]).toBe(golden.meta.clusters);
      expect(details.important[0]).toBe(golden.meta.important);
      expect(details.noise[0]).toBe(golden.meta.noise);
      expect(maxAbsDiff(details.weights, golden.weights)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(run.maps, golden.maps.cam)).toBeLessThanOrEqual(1e-4);
    });
  }
});
