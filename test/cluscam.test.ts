/**
 * ClusCAM: the GPU method (masks, K-Means on the GPU, masked inputs, weights on the host, the
 * saliency sum) against its CPU twin with a synthetic linear "model", the drop/softmax rule,
 * validation, and one explanation of the bundled digits model through ModelExplainer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { createCamEngine } from '../src/engine/engine';
import { DeviceLimitError, InvalidOptionError } from '../src/engine/errors';
import type { GpuContext } from '../src/engine/gpu/context';
import { runCluscamGpu } from '../src/engine/methods/cluscam/gpu';
import { ModelExplainer } from '../src/engine/model/explainer';
import { decodeImage } from '../src/engine/model/image-io';
import { loadModelMetadata } from '../src/engine/model/metadata';
import { cluscamAlphas } from '../src/engine/methods/cluscam/cpu';
import type { CamInput, CamShape, CluscamOptions } from '../src/engine/types';
import { maxAbsDiff } from './helpers/golden';
import { testEngine } from './helpers/gpu';
import { randomLayer, syntheticScorer } from './helpers/scorer';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'models/digits/digits-resnet.onnx');
const SAMPLE = path.join(ROOT, 'models/digits/samples/sample-1.png');

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

const SHAPE: CamShape = { batch: 2, channels: 24, height: 6, width: 6, outHeight: 28, outWidth: 26 };

function scoredInput(shape: CamShape, seed: number): CamInput & { scorer: ReturnType<typeof syntheticScorer> } {
  return { shape, activations: randomLayer(shape, seed), scorer: syntheticScorer(shape, seed + 100) };
}

async function both(shape: CamShape, seed: number, options: { scoreBatchSize?: number; cluscam?: CluscamOptions }) {
  const gpuInput = scoredInput(shape, seed);
  const cpuInput = scoredInput(shape, seed);
  const gpu = await (await testEngine()).compute('cluscam', gpuInput, { ...options, timing: true });
  const cpu = await (await createCamEngine({ backend: 'cpu' })).compute('cluscam', cpuInput, options);
  return { gpu, cpu, gpuCalls: gpuInput.scorer.calls, cpuCalls: cpuInput.scorer.calls };
}

describe('ClusCAM (GPU vs CPU reference)', () => {
  it('gives the reference maps, seeds, assignments, deltas and weights (K = 5, 2 masked inputs per call)', async () => {
    const K = 5;
    const { gpu, cpu, gpuCalls, cpuCalls } = await both(SHAPE, 7, { scoreBatchSize: 2, cluscam: { clusters: K } });
    const g = gpu.cluscam!;
    const c = cpu.cluscam!;
    expect(Array.from(g.seedChannels)).toEqual(Array.from(c.seedChannels));
    expect(Array.from(g.assignments)).toEqual(Array.from(c.assignments));
    expect(Array.from(g.iterations)).toEqual(Array.from(c.iterations));
    expect(g.assignments.length).toBe(SHAPE.batch * SHAPE.channels);
    // Every cluster has members, and the K clusters are the labels 0..K-1.
    for (let b = 0; b < SHAPE.batch; b++) {
      expect(new Set(g.assignments.subarray(b * SHAPE.channels, (b + 1) * SHAPE.channels)).size).toBe(K);
    }
    expect(maxAbsDiff(g.deltas, c.deltas)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(g.alphas, c.alphas)).toBeLessThanOrEqual(1e-5);
    for (let i = 0; i < SHAPE.batch; i++) expect(g.inertia[i]).toBeCloseTo(c.inertia[i], 2);
    // floor(0.5 * 5) = 2 clusters dropped per image; the kept weights sum to 1.
    for (let b = 0; b < SHAPE.batch; b++) {
      const alphas = Array.from(g.alphas.subarray(b * K, (b + 1) * K));
      expect(alphas.filter((a) => a === 0)).toHaveLength(2);
      expect(alphas.reduce((s, a) => s + a, 0)).toBeCloseTo(1, 6);
    }
    expect(maxAbsDiff(gpu.maps, cpu.maps)).toBeLessThanOrEqual(1e-4);
    const plane = SHAPE.outHeight * SHAPE.outWidth;
    for (let b = 0; b < SHAPE.batch; b++) expect(Math.max(...gpu.maps.subarray(b * plane, (b + 1) * plane))).toBeCloseTo(1, 4);
    const calls = [0, 1].flatMap((image) => [2, 2, 1].map((count) => ({ image, count })));
    expect(gpuCalls).toEqual(calls);
    expect(cpuCalls).toEqual(calls);
  });

  it('agrees with explicit seed channels, several inits, r = 0 and another temperature', async () => {
    const shape: CamShape = { ...SHAPE, batch: 1, channels: 17, height: 7, width: 5, outHeight: 21, outWidth: 23 };
    const seedChannels = [16, 3, 0, 9];
    const a = await both(shape, 8, { scoreBatchSize: 3, cluscam: { clusters: 4, seedChannels, dropRatio: 0, temperature: 2 } });
    expect(Array.from(a.gpu.cluscam!.seedChannels)).toEqual(seedChannels);
    expect(Array.from(a.cpu.cluscam!.seedChannels)).toEqual(seedChannels);
    expect(Array.from(a.gpu.cluscam!.assignments)).toEqual(Array.from(a.cpu.cluscam!.assignments));
    expect(Array.from(a.gpu.cluscam!.alphas).every((x) => x > 0)).toBe(true);
    expect(maxAbsDiff(a.gpu.maps, a.cpu.maps)).toBeLessThanOrEqual(1e-4);

    const b = await both(shape, 9, { cluscam: { clusters: 6, inits: 3, seed: 12345, dropRatio: 0.7 } });
    expect(Array.from(b.gpu.cluscam!.seedChannels)).toEqual(Array.from(b.cpu.cluscam!.seedChannels));
    expect(Array.from(b.gpu.cluscam!.assignments)).toEqual(Array.from(b.cpu.cluscam!.assignments));
    expect(Array.from(b.gpu.cluscam!.alphas).filter((x) => x === 0)).toHaveLength(4);
    expect(maxAbsDiff(b.gpu.maps, b.cpu.maps)).toBeLessThanOrEqual(1e-4);
    // K = 6 fits one model call of the default 16.
    expect(b.gpuCalls).toEqual([{ image: 0, count: 6 }]);
  });

  it('with K = C every channel is its own cluster', async () => {
    const shape: CamShape = { ...SHAPE, batch: 1, channels: 8 };
    const { gpu, cpu } = await both(shape, 10, { cluscam: { clusters: 8 } });
    expect(new Set(gpu.cluscam!.assignments).size).toBe(8);
    for (const r of [gpu, cpu]) {
      // Each channel belongs to the cluster seeded by it.
      const seeds = Array.from(r.cluscam!.seedChannels);
      expect(Array.from(r.cluscam!.assignments)).toEqual(Array.from({ length: 8 }, (_, c) => seeds.indexOf(c)));
    }
    expect(Array.from(gpu.cluscam!.assignments)).toEqual(Array.from(cpu.cluscam!.assignments));
    expect(maxAbsDiff(gpu.maps, cpu.maps)).toBeLessThanOrEqual(1e-4);
  });
});

describe('ClusCAM weights', () => {
  it('drops the floor(r*K) lowest deltas, the lower index first on ties, then softmax(delta / tau)', () => {
    const alphas = cluscamAlphas([0.5, -1, 2, -1, -1, 3], 0.5, 0.5);
    // The three lowest are the -1s at 1, 3, 4; with r = 0.4, floor(2.4) = 2 drops 1 and 3 only.
    expect(Array.from(alphas).map((a) => a === 0)).toEqual([false, true, false, true, true, false]);
    const two = cluscamAlphas([0.5, -1, 2, -1, -1, 3], 0.4, 0.5);
    expect(Array.from(two).map((a) => a === 0)).toEqual([false, true, false, true, false, false]);
    const z = [0.5, 2, 3].map((d) => Math.exp(d / 0.5));
    const total = z.reduce((a, b) => a + b, 0);
    expect(alphas[0]).toBeCloseTo(z[0] / total, 12);
    expect(alphas[5]).toBeCloseTo(z[2] / total, 12);
    // r = 0: nothing dropped; a huge temperature flattens the weights.
    expect(Array.from(cluscamAlphas([1, 2, 3, 4], 0, 1e9)).every((a) => Math.abs(a - 0.25) < 1e-8)).toBe(true);
  });
});

describe('ClusCAM validation', () => {
  const bad: [CluscamOptions, RegExp][] = [
    [{ clusters: 0 }, /clusters must be an integer in 1\.\.24/],
    [{ clusters: 25 }, /clusters must be an integer in 1\.\.24/],
    [{ clusters: 2.5 }, /clusters/],
    [{ dropRatio: 1 }, /dropRatio must be in \[0, 1\)/],
    [{ dropRatio: -0.1 }, /dropRatio/],
    [{ temperature: 0 }, /temperature must be a number > 0/],
    [{ temperature: NaN }, /temperature/],
    [{ seed: 1.5 }, /seed must be an integer/],
    [{ inits: 0 }, /inits must be an integer >= 1/],
    [{ maxIterations: -1 }, /maxIterations/],
    [{ clusters: 3, seedChannels: [1, 2] }, /seedChannels lists 2 channels; give one per cluster \(3\)/],
    [{ clusters: 2, seedChannels: [4, 4] }, /lists channel 4 twice/],
    [{ clusters: 2, seedChannels: [4, 24] }, /not a channel in 0\.\.23/],
  ];
  for (const [cluscam, message] of bad) {
    it(`rejects ${JSON.stringify(cluscam)}`, async () => {
      for (const engine of [await testEngine(), await createCamEngine({ backend: 'cpu' })]) {
        const input = scoredInput(SHAPE, 1);
        const run = engine.compute('cluscam', input, { cluscam });
        await expect(run).rejects.toThrow(InvalidOptionError);
        await expect(run).rejects.toThrow(message);
        expect(input.scorer.calls).toHaveLength(0);
      }
    });
  }
});

describe('ClusCAM device limits', () => {
  it('says what to do when the channel masks do not fit one buffer', async () => {
    // A device that binds 1 MiB: 24 masks of 28x26 fit (70 KB), 24 masks of 224x224 (4.8 MB) do not.
    const limits = { maxStorageBufferBindingSize: 2 ** 20, maxBufferSize: 2 ** 20 };
    const small = { device: { limits } } as unknown as GpuContext;
    const shape: CamShape = { ...SHAPE, batch: 1, outHeight: 224, outWidth: 224 };
    const run = runCluscamGpu(small, scoredInput(shape, 2), { cluscam: { clusters: 3 } });
    await expect(run).rejects.toThrow(DeviceLimitError);
    await expect(run).rejects.toThrow(/the 24 channel masks of 224x224 .* need 4\.6 MiB in one buffer, above this device's 1\.0 MiB limit; explain a layer with fewer channels/);
  });
});

describe('ClusCAM on the bundled model (ModelExplainer)', () => {
  // K-Means over 256 points of 224x224 on SwiftShader takes tens of seconds: a longer timeout.
  it('gives the same map and clusters on the GPU and the CPU engine (K = 5)', { timeout: 400_000 }, async () => {
    const modelBytes = new Uint8Array(readFileSync(MODEL));
    const metadata = loadModelMetadata(MODEL);
    const image = decodeImage(new Uint8Array(readFileSync(SAMPLE)));
    const gpu = await ModelExplainer.create({ model: modelBytes, metadata, engine: await testEngine(), ort, numThreads: 1 });
    const cpu = await ModelExplainer.create({ model: modelBytes, metadata, engine: await createCamEngine({ backend: 'cpu' }), ort, numThreads: 1 });
    try {
      const camOptions = { cluscam: { clusters: 5 } };
      const a = await gpu.explain(image, { method: 'cluscam', camOptions });
      const b = await cpu.explain(image, { method: 'cluscam', camOptions });
      console.log(`cluscam K=5 on the bundled model: GPU engine ${a.timings.camMs.toFixed(0)} ms (model ${a.timings.scoreMs?.toFixed(0)} ms), CPU engine ${b.timings.camMs.toFixed(0)} ms (model ${b.timings.scoreMs?.toFixed(0)} ms)`);
      expect(a.classIndex).toBe(b.classIndex);
      expect(a.cluscam!.assignments.length).toBe(256);
      expect(Array.from(a.cluscam!.seedChannels)).toEqual(Array.from(b.cluscam!.seedChannels));
      expect(Array.from(a.cluscam!.assignments)).toEqual(Array.from(b.cluscam!.assignments));
      expect(maxAbsDiff(a.cluscam!.deltas, b.cluscam!.deltas)).toBeLessThanOrEqual(1e-3);
      expect(maxAbsDiff(a.map, b.map)).toBeLessThanOrEqual(1e-3);
      expect(Math.max(...a.map)).toBeCloseTo(1, 4);
      expect(Array.from(a.cluscam!.alphas).filter((x) => x === 0)).toHaveLength(2);
    } finally {
      await gpu.dispose();
      await cpu.dispose();
    }
  });
});
