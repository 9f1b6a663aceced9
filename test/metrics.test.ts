/**
 * The metrics module against the torch / NumPy / SciPy / scikit-image fixtures of
 * models/metrics/make_fixtures.py (a tiny CNN exported to ONNX: torch scored the fixtures,
 * ONNX Runtime scores here), with the perturbed inputs built by the GPU kernels (Dawn;
 * SwiftShader without a GPU) and by their CPU twin; plus the kernels against each other and
 * the imputation, SSIM and pointing game on their own.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { BatchedClassifier } from '../src/engine/model/batched-model';
import { parseNpy } from '../src/engine/io/npy';
import {
  averageDrop,
  confidenceChange,
  cpuPerturber,
  deletionInsertion,
  gaussianTaps,
  gpuPerturber,
  mse,
  noisyLinearImpute,
  pointingGame,
  road,
  roadRemoved,
  ssim,
  type Baseline,
  type MetricContext,
  type MetricImage,
  type Perturber,
  type ProbabilityScorer,
} from '../src/engine/metrics/index';
import { testGpu } from './helpers/gpu';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'test/fixtures/metrics');
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;
const TOL = 1e-4;

interface Case {
  sample: number;
  map?: string;
  classIndex: number;
  box: [number, number, number, number];
  baseProbability: number;
  averageDrop: { maskedProbability: number; drop: number; increase: number };
  deletionInsertion: Record<string, { deletion: number[]; insertion: number[]; deletionAuc: number; insertionAuc: number }>;
  confidenceChange: number;
  road: { morf: number[]; lerf: number[] };
  pointing: { hit: boolean; energy: number };
  ssim?: number;
  mse?: number;
}
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { size: number; cases: Case[] };
const SIZE = expected.size;
const npy = (name: string) => parseNpy(new Uint8Array(readFileSync(path.join(DIR, name)))).data as Float32Array;
const mapCases = expected.cases.filter((c) => c.map);

let classifier: BatchedClassifier;
let gpu: Perturber;

beforeAll(async () => {
  ort.env.wasm.numThreads = 1;
  classifier = new BatchedClassifier({
    model: new Uint8Array(readFileSync(path.join(DIR, 'tiny-cnn.onnx'))),
    inputName: 'input',
    inputShape: [1, 3, SIZE, SIZE],
    logitsName: 'logits',
    numClasses: 10,
    ort,
    numThreads: 1,
  });
  gpu = gpuPerturber(await testGpu());
});

function scorer(): ProbabilityScorer {
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    async probabilities(inputs, count, classIndex) {
      runs += count;
      const logits = await classifier.logits(inputs, count);
      return Float32Array.from({ length: count }, (_, j) => {
        const row = Array.from(logits.subarray(j * 10, (j + 1) * 10));
        const top = Math.max(...row);
        const total = row.reduce((a, v) => a + Math.exp(v - top), 0);
        return Math.exp(row[classIndex] - top) / total;
      });
    },
  };
}

const image = (c: Case): MetricImage => ({ input: npy(`input-${c.sample}.npy`), height: SIZE, width: SIZE, mean: MEAN, std: STD, classIndex: c.classIndex });
const mapOf = (c: Case) => npy(`map-${c.sample}-${c.map}.npy`);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

for (const backend of ['gpu', 'cpu'] as const) {
  describe(`metrics against the torch fixtures, perturbed inputs on the ${backend}`, () => {
    const ctx = (): MetricContext => ({ scorer: scorer(), perturber: backend === 'gpu' ? gpu : cpuPerturber, batchSize: 32 });

    it('Average Drop and Increase (CF-CAM ad.py / ai.py) and the confidence change', async () => {
      for (const c of mapCases) {
        const context = ctx();
        const ad = await averageDrop(context, image(c), mapOf(c), c.baseProbability);
        expect(Math.abs(ad.maskedProbability - c.averageDrop.maskedProbability)).toBeLessThan(TOL);
        // drop is in percent: compared as a fraction.
        expect(Math.abs(ad.drop - c.averageDrop.drop) / 100).toBeLessThan(TOL);
        expect(Math.abs(ad.increase - c.averageDrop.increase)).toBeLessThan(TOL);
        expect(context.scorer.runs).toBe(3);
        const cc = await confidenceChange(ctx(), image(c), mapOf(c), c.baseProbability);
        expect(Math.abs(cc.change - c.confidenceChange)).toBeLessThan(TOL);
      }
    });

    it('deletion and insertion curves and AUCs with every baseline (auc.py, 100 steps)', async () => {
      for (const c of mapCases) {
        for (const [pair, want] of Object.entries(c.deletionInsertion)) {
          const [deletionBaseline, insertionBaseline] = pair.split('/') as [Baseline, Baseline];
          const context = ctx();
          const got = await deletionInsertion(context, image(c), mapOf(c), { deletionBaseline, insertionBaseline });
          expect(context.scorer.runs).toBe(202);
          expect(maxDiff(got.deletion.curve, want.deletion)).toBeLessThan(TOL);
          expect(maxDiff(got.insertion.curve, want.insertion)).toBeLessThan(TOL);
          expect(Math.abs(got.deletion.auc - want.deletionAuc)).toBeLessThan(TOL);
          expect(Math.abs(got.insertion.auc - want.insertionAuc)).toBeLessThan(TOL);
          // The curves end where they must: nothing removed / everything inserted = the image.
          expect(Math.abs(got.deletion.curve[0] - c.baseProbability)).toBeLessThan(TOL);
          expect(Math.abs(got.insertion.curve[100] - c.baseProbability)).toBeLessThan(TOL);
        }
      }
    });

    it('ROAD MoRF and LeRF at percentiles 10..90 without noise (exact sparse solve in SciPy)', async () => {
      for (const c of mapCases.slice(0, 4)) {
        const got = await road(ctx(), image(c), mapOf(c), c.baseProbability, { noise: 0 });
        expect(maxDiff(got.morf, c.road.morf)).toBeLessThan(TOL);
        expect(maxDiff(got.lerf, c.road.lerf)).toBeLessThan(TOL);
        const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
        expect(Math.abs(got.combined - (mean(c.road.lerf) - mean(c.road.morf)) / 2)).toBeLessThan(TOL);
      }
    });
  });
}

describe('the perturbation kernels: GPU = CPU twin', () => {
  it('binary modes are bit-identical, the soft blend and the blur agree to float rounding', async () => {
    const c = mapCases[1];
    const x = npy(`input-${c.sample}.npy`);
    const map = mapOf(c);
    const base = npy('blur-0.npy');
    const t = Float32Array.of(-1, 0.2, 0.5, 0.9, 2);
    for (const mode of ['keepAbove', 'keepBelow'] as const) {
      const a = await gpu.perturb(x, base, map, t, mode, { height: SIZE, width: SIZE });
      const b = await cpuPerturber.perturb(x, base, map, t, mode, { height: SIZE, width: SIZE });
      expect(a).toEqual(b);
    }
    const soft = await gpu.perturb(x, base, map, new Float32Array(2), 'soft', { height: SIZE, width: SIZE });
    expect(maxDiff(soft, await cpuPerturber.perturb(x, base, map, new Float32Array(2), 'soft', { height: SIZE, width: SIZE }))).toBeLessThan(1e-6);
    const taps = gaussianTaps(11, 5);
    const torchBlur = npy('blur-0.npy');
    const gpuBlur = await gpu.blur(npy('input-0.npy'), taps, { height: SIZE, width: SIZE });
    const cpuBlur = await cpuPerturber.blur(npy('input-0.npy'), taps, { height: SIZE, width: SIZE });
    expect(maxDiff(gpuBlur, torchBlur)).toBeLessThan(1e-5);
    expect(maxDiff(cpuBlur, torchBlur)).toBeLessThan(1e-5);
  });
});

describe('imputation, SSIM, pointing game', () => {
  it('noisy linear imputation: each removed pixel is the weighted mean of its neighbours; the noise has the asked deviation', () => {
    const x = npy('input-1.npy');
    const removed = roadRemoved(mapOf(mapCases[2]), 30, true);
    const clean = noisyLinearImpute(x, removed, { height: SIZE, width: SIZE }, { noise: 0 });
    let worst = 0;
    for (let p = 0; p < SIZE * SIZE; p++) {
      if (!removed[p]) {
        expect(clean[p]).toBe(x[p]);
        continue;
      }
      const y = Math.floor(p / SIZE);
      const xx = p % SIZE;
      let s = 0;
      let w = 0;
      for (const [dy, dx] of [[1, 1], [0, 1], [-1, 1], [1, -1], [0, -1], [-1, -1], [1, 0], [-1, 0]]) {
        const yy = y + dy;
        const xc = xx + dx;
        if (yy < 0 || xc < 0 || yy >= SIZE || xc >= SIZE) continue;
        const weight = dy && dx ? 1 / 12 : 1 / 6;
        s += weight * clean[yy * SIZE + xc];
        w += weight;
      }
      worst = Math.max(worst, Math.abs(s / w - clean[p]));
    }
    expect(worst).toBeLessThan(1e-5);
    const noisy = noisyLinearImpute(x, removed, { height: SIZE, width: SIZE }, { noise: 0.05, seed: 3 });
    const diffs = Array.from(noisy, (v, i) => v - clean[i]).filter((_, i) => removed[i % (SIZE * SIZE)]);
    const sd = Math.sqrt(diffs.reduce((a, d) => a + d * d, 0) / diffs.length);
    expect(sd).toBeGreaterThan(0.045);
    expect(sd).toBeLessThan(0.055);
  });

  it('imputation at 112x112 with 90% of the pixels removed: within 1e-3 of SciPy\'s exact sparse solve', () => {
    const x = npy('input112.npy');
    const want = npy('impute112-q10.npy');
    const got = noisyLinearImpute(x, roadRemoved(npy('map112.npy'), 10, true), { height: 112, width: 112 }, { noise: 0 });
    expect(maxDiff(got, want)).toBeLessThan(1e-3);
    expect(maxDiff(got, x)).toBeGreaterThan(0.1);
  });

  it('SSIM and MSE equal scikit-image / NumPy; SSIM of a map with itself is 1', () => {
    for (const c of expected.cases.filter((k) => k.ssim !== undefined)) {
      const a = npy(`map-${c.sample}-blob.npy`);
      const b = npy(`map-${c.sample}-random.npy`);
      expect(Math.abs(ssim(a, b, SIZE, SIZE) - c.ssim!)).toBeLessThan(1e-6);
      expect(Math.abs(mse(a, b) - c.mse!)).toBeLessThan(1e-7);
      expect(ssim(a, a, SIZE, SIZE)).toBeCloseTo(1, 10);
    }
  });

  it('pointing game and energy-based pointing game', () => {
    for (const c of mapCases) {
      const got = pointingGame(mapOf(c), SIZE, c.box);
      expect(got.hit).toBe(c.pointing.hit);
      expect(Math.abs(got.energy - c.pointing.energy)).toBeLessThan(1e-5);
    }
    // Tolerance: a peak 3 px right of the box hits with tolerance 3, not 2.
    const map = new Float32Array(100);
    map[5 * 10 + 7] = 1;
    expect(pointingGame(map, 10, [1, 1, 5, 9], 2).hit).toBe(false);
    expect(pointingGame(map, 10, [1, 1, 5, 9], 3).hit).toBe(true);
  });
});
