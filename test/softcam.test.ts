/**
 * Soft-CAM: the GPU method (WebGPU through Dawn; SwiftShader without a GPU) against its CPU
 * twin on random evidence maps, its validation, and the bundled Soft-CAM digits model
 * (models/softcam/softcam-digits.onnx) run by ONNX Runtime Web's wasm EP: the logits are the
 * spatial means of the evidence maps, and GPU and CPU give the same maps of its evidence.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { createCamEngine } from '../src/engine/engine';
import { InvalidOptionError, ShapeMismatchError } from '../src/engine/errors';
import { Recorder } from '../src/engine/gpu/recorder';
import { encodeCam } from '../src/engine/methods/encode';
import { decodeImage } from '../src/engine/model/image-io';
import { ModelExplainer } from '../src/engine/model/explainer';
import { readModelMetadata } from '../src/engine/model/metadata';
import { createModelSession } from '../src/engine/model/session';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import { resizeBilinear } from '../src/engine/methods/common/resize-cpu';
import { preprocessCpu } from '../src/engine/model/preprocess-cpu';
import type { CamInput, CamShape } from '../src/engine/types';
import { maxAbsDiff } from './helpers/golden';
import { testEngine, testGpu } from './helpers/gpu';
import { gaussian, prng } from './helpers/random';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL_DIR = path.join(ROOT, 'models/softcam');
const SAMPLES = path.join(ROOT, 'models/digits/samples'); // the standard model's sample images
const TOLERANCE = 1e-5;

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

/** Random signed evidence [B,C,H,W]: Gaussian values around a per-map offset. */
function randomEvidence(shape: CamShape, seed: number): Float32Array {
  const rand = prng(seed);
  const { batch, channels, height, width } = shape;
  const out = new Float32Array(batch * channels * height * width);
  const plane = height * width;
  for (let m = 0; m < batch * channels; m++) {
    const offset = 2 * gaussian(rand);
    for (let p = 0; p < plane; p++) out[m * plane + p] = offset + gaussian(rand);
  }
  return out;
}

function mean(values: ArrayLike<number>, start = 0, count = values.length): number {
  let s = 0;
  for (let i = start; i < start + count; i++) s += values[i];
  return s / count;
}

function range(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

describe('softcam: GPU vs CPU reference', () => {
  const cases: { name: string; shape: CamShape; classes: number[] }[] = [
    { name: 'batch 2, 10 classes of 7x5 to 31x23', shape: { batch: 2, channels: 10, height: 7, width: 5, outHeight: 31, outWidth: 23 }, classes: [3, 9] },
    { name: 'batch 2, 3 classes of 9x11 to 13x17', shape: { batch: 2, channels: 3, height: 9, width: 11, outHeight: 13, outWidth: 17 }, classes: [0, 0] },
    { name: 'batch 3, 1 class of 1x1 to 5x3', shape: { batch: 3, channels: 1, height: 1, width: 1, outHeight: 5, outWidth: 3 }, classes: [0, 0, 0] },
  ];
  for (const [i, c] of cases.entries()) {
    it(c.name, async () => {
      const input: CamInput = { shape: c.shape, activations: randomEvidence(c.shape, 100 + i), classIndices: Int32Array.from(c.classes) };
      const gpu = await (await testEngine()).compute('softcam', input);
      const cpu = computeCamCpu('softcam', input);
      const n = c.shape.batch * c.shape.outHeight * c.shape.outWidth;
      expect(gpu.maps.length).toBe(n);
      expect(gpu.signedMaps?.length).toBe(n);
      expect(cpu.signedMaps?.length).toBe(n);
      expect(maxAbsDiff(gpu.maps, cpu.maps)).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(gpu.signedMaps!, cpu.signedMaps!)).toBeLessThanOrEqual(TOLERANCE);

      // The CPU twin is the selected channel resized: check it against resizeBilinear directly.
      const { channels: C, height: H, width: W, outHeight: oh, outWidth: ow } = c.shape;
      for (let b = 0; b < c.shape.batch; b++) {
        const start = (b * C + c.classes[b]) * H * W;
        const want = resizeBilinear(input.activations.subarray(start, start + H * W), H, W, oh, ow);
        const got = cpu.signedMaps!.subarray(b * oh * ow, (b + 1) * oh * ow);
        expect(maxAbsDiff(got, Float32Array.from(want))).toBeLessThanOrEqual(1e-6);
        const map = gpu.maps.subarray(b * oh * ow, (b + 1) * oh * ow);
        const [lo, hi] = range(map);
        expect(lo).toBeGreaterThanOrEqual(0);
        expect(hi).toBeLessThanOrEqual(1);
        if (H * W > 1) {
          expect(lo).toBeCloseTo(0, 6);
          expect(hi).toBeCloseTo(1, 5);
        } else {
          // A constant map (1x1 evidence) normalises to zeros, as in the other methods.
          expect(hi).toBe(0);
        }
      }
    });
  }

  it('keeps the sign of the evidence: negative evidence stays negative, positive positive', async () => {
    const shape: CamShape = { batch: 2, channels: 2, height: 3, width: 3, outHeight: 3, outWidth: 3 };
    // Image 0, class 1: a map with negative evidence on the left column, positive on the right.
    // Image 1, class 0: all negative (evidence against the class everywhere).
    const a = new Float32Array(2 * 2 * 9);
    a.set([-4, 0, 2, -4, 0, 2, -4, 0, 2], 9);
    a.set([-1, -2, -3, -4, -5, -6, -7, -8, -9], 18);
    const input: CamInput = { shape, activations: a, classIndices: Int32Array.from([1, 0]) };
    for (const engine of [await testEngine(), await createCamEngine({ backend: 'cpu' })]) {
      const r = await engine.compute('softcam', input);
      const s = r.signedMaps!;
      // Same size in and out: the resize is the identity, so the signed map is the evidence.
      expect(maxAbsDiff(s.subarray(0, 9), a.subarray(9, 18))).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(s.subarray(9, 18), a.subarray(18, 27))).toBeLessThanOrEqual(1e-6);
      expect(Math.min(...s.subarray(0, 9))).toBeLessThan(0);
      expect(Math.max(...s.subarray(0, 9))).toBeGreaterThan(0);
      expect(Math.max(...s.subarray(9, 18))).toBeLessThan(0);
      // The normalised map puts the most negative evidence at 0 and the most positive at 1.
      expect(r.maps[0]).toBeCloseTo(0, 6);
      expect(r.maps[2]).toBeCloseTo(1, 5);
      expect(r.maps[9 + 8]).toBeCloseTo(0, 6);
      expect(r.maps[9]).toBeCloseTo(1, 5);
    }
  });

  it('selects a channel without changing it: the layer-resolution mean is the class evidence mean', async () => {
    // outHeight x outWidth = H x W: the signed map is the selected evidence itself, so its mean
    // (the logit, for a Soft-CAM network) does not depend on which class is selected or how.
    const shape: CamShape = { batch: 2, channels: 10, height: 7, width: 7, outHeight: 7, outWidth: 7 };
    const a = randomEvidence(shape, 7);
    const engine = await testEngine();
    for (const classes of [[0, 9], [4, 4], [7, 2]]) {
      const r = await engine.compute('softcam', { shape, activations: a, classIndices: Int32Array.from(classes) });
      for (let b = 0; b < 2; b++) {
        const want = mean(a, (b * 10 + classes[b]) * 49, 49);
        expect(Math.abs(mean(r.signedMaps!, b * 49, 49) - want)).toBeLessThanOrEqual(1e-6);
      }
    }
    // Different classes give different maps (the selection is real).
    const r0 = await engine.compute('softcam', { shape, activations: a, classIndices: Int32Array.from([0, 0]) });
    const r1 = await engine.compute('softcam', { shape, activations: a, classIndices: Int32Array.from([1, 1]) });
    expect(maxAbsDiff(r0.signedMaps!, r1.signedMaps!)).toBeGreaterThan(0.1);
  });

  it('binds the evidence as a window of a larger buffer (as ONNX Runtime hands outputs over)', async () => {
    const ctx = await testGpu();
    const shape: CamShape = { batch: 2, channels: 4, height: 5, width: 6, outHeight: 11, outWidth: 9 };
    const a = randomEvidence(shape, 11);
    const classIndices = Int32Array.from([2, 3]);
    const rec = new Recorder(ctx, { label: 'softcam windowed' });
    const offset = 256;
    const shared = rec.storage(offset + a.byteLength + 64, 'shared');
    ctx.device.queue.writeBuffer(shared, offset, a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);
    let mapIndex: number;
    let signedIndex: number;
    try {
      const encoded = encodeCam(rec, 'softcam', { shape, activations: { buffer: shared, offset, size: a.byteLength }, gradients: null, classIndices }, {});
      const bytes = 2 * 11 * 9 * 4;
      mapIndex = rec.read(encoded.map, bytes);
      expect(encoded.signedMap).toBeDefined();
      signedIndex = rec.read(encoded.signedMap!, bytes);
    } catch (error) {
      rec.abandon();
      throw error;
    }
    const { readbacks } = await rec.submit();
    const cpu = computeCamCpu('softcam', { shape, activations: a, classIndices });
    expect(maxAbsDiff(new Float32Array(readbacks[mapIndex]), cpu.maps)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbsDiff(new Float32Array(readbacks[signedIndex]), cpu.signedMaps!)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('softcam: validation', () => {
  const shape: CamShape = { batch: 2, channels: 3, height: 4, width: 4, outHeight: 8, outWidth: 8 };
  const activations = new Float32Array(2 * 3 * 16).fill(0.5);
  const bad: { name: string; classIndices?: Int32Array; error: typeof InvalidOptionError; message: RegExp }[] = [
    { name: 'missing classIndices', error: InvalidOptionError, message: /softcam needs classIndices/ },
    { name: 'one index for a batch of 2', classIndices: Int32Array.from([1]), error: ShapeMismatchError, message: /hold 1 values; batch 2/ },
    { name: 'an index equal to the class count', classIndices: Int32Array.from([0, 3]), error: InvalidOptionError, message: /classIndices\[1\] = 3 .*0\.\.2/ },
    { name: 'a negative index', classIndices: Int32Array.from([-1, 0]), error: InvalidOptionError, message: /classIndices\[0\] = -1/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} on the GPU and the CPU backend`, async () => {
      for (const engine of [await testEngine(), await createCamEngine({ backend: 'cpu' })]) {
        const run = engine.compute('softcam', { shape, activations, classIndices: c.classIndices });
        await expect(run).rejects.toBeInstanceOf(c.error);
        await expect(engine.compute('softcam', { shape, activations, classIndices: c.classIndices })).rejects.toThrow(c.message);
      }
    });
  }

  it('encodeCam checks the class indices too (GPU inputs bypass validateCamInput)', async () => {
    const ctx = await testGpu();
    const rec = new Recorder(ctx, { label: 'softcam invalid' });
    try {
      const evidence = rec.storage(activations.byteLength, 'evidence');
      expect(() => encodeCam(rec, 'softcam', { shape, activations: evidence, gradients: null, classIndices: Int32Array.from([0, 5]) }, {})).toThrow(
        InvalidOptionError,
      );
    } finally {
      rec.abandon();
    }
  });

  it('the engine still works after a rejected call', async () => {
    const engine = await testEngine();
    await expect(engine.compute('softcam', { shape, activations })).rejects.toThrow();
    const r = await engine.compute('softcam', { shape, activations, classIndices: Int32Array.from([2, 1]) });
    expect(r.signedMaps!.every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
    expect(r.maps.every((v) => v === 0)).toBe(true);
  });
});

describe('softcam: the bundled Soft-CAM digits model (ONNX Runtime Web, wasm EP)', () => {
  const modelPath = path.join(MODEL_DIR, 'softcam-digits.onnx');

  it('model.json names the evidence output and the feature layer', () => {
    const raw = JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(raw.evidence_output).toBe('evidence');
    const meta = readModelMetadata(path.join(MODEL_DIR, 'model.json'));
    expect(meta.evidenceOutput).toBe('evidence');
    expect(meta.featureLayer).toBe('evidence');
    expect(meta.classNames).toHaveLength(10);
    expect(meta.mean).toEqual([0.485, 0.456, 0.406]);
    expect(meta.std).toEqual([0.229, 0.224, 0.225]);
  });

  for (const sample of ['sample-0.png', 'sample-3.png']) {
    it(`${sample}: logits = mean of the evidence maps; GPU map = CPU map`, async () => {
      expect(existsSync(modelPath)).toBe(true);
      const meta = readModelMetadata(path.join(MODEL_DIR, 'model.json'));
      // torch's outputs for the samples, recorded by models/softcam/export.py.
      const expected = JSON.parse(readFileSync(path.join(MODEL_DIR, 'samples-expected.json'), 'utf8')) as {
        images: Record<string, { predicted: number; logits: number[]; evidence_min: number; evidence_max: number }>;
      };
      const want = expected.images[sample];
      const image = decodeImage(new Uint8Array(readFileSync(path.join(SAMPLES, sample))));
      const { data } = preprocessCpu(image, { size: [224, 224], mean: meta.mean!, std: meta.std! });

      const session = await createModelSession(new Uint8Array(readFileSync(modelPath)), { ort, numThreads: 1 });
      let logits: Float32Array;
      let evidence: Float32Array;
      let dims: number[];
      try {
        expect(session.outputNames).toEqual(['logits', 'evidence']);
        const run = await session.run({ input: { data, dims: [1, 3, 224, 224] } }, { host: ['logits', 'evidence'] });
        try {
          logits = Float32Array.from(run.host.logits.data as Float32Array);
          evidence = Float32Array.from(run.host.evidence.data as Float32Array);
          dims = run.host.evidence.dims;
        } finally {
          run.dispose();
        }
      } finally {
        await session.dispose();
      }
      expect(dims).toEqual([1, 10, 7, 7]);
      expect(logits).toHaveLength(10);
      for (let c = 0; c < 10; c++) expect(Math.abs(mean(evidence, c * 49, 49) - logits[c])).toBeLessThanOrEqual(1e-4);
      // ONNX Runtime gives torch's logits and top-1 class.
      for (let c = 0; c < 10; c++) expect(Math.abs(logits[c] - want.logits[c])).toBeLessThanOrEqual(1e-3);
      const top = logits.indexOf(Math.max(...logits));
      expect(top).toBe(want.predicted);

      const shape: CamShape = { batch: 1, channels: 10, height: 7, width: 7, outHeight: 224, outWidth: 224 };
      const input: CamInput = { shape, activations: evidence, classIndices: Int32Array.from([top]) };
      const gpu = await (await testEngine()).compute('softcam', input);
      const cpu = await (await createCamEngine({ backend: 'cpu' })).compute('softcam', input);
      expect(maxAbsDiff(gpu.maps, cpu.maps)).toBeLessThanOrEqual(TOLERANCE);
      // Signed values of the trained model reach ~10: compare them relative to their range.
      const [lo, hi] = range(cpu.signedMaps!);
      expect(maxAbsDiff(gpu.signedMaps!, cpu.signedMaps!)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, hi - lo));
      // The layer-resolution range of the class's evidence is torch's; the resized map stays within it.
      const plane = evidence.subarray(top * 49, (top + 1) * 49);
      expect(Math.min(...plane)).toBeCloseTo(want.evidence_min, 3);
      expect(Math.max(...plane)).toBeCloseTo(want.evidence_max, 3);
      expect(lo).toBeGreaterThanOrEqual(want.evidence_min - 1e-3);
      expect(hi).toBeLessThanOrEqual(want.evidence_max + 1e-3);
      // The shown class has positive evidence somewhere (its logit is the largest).
      expect(hi).toBeGreaterThan(0);
    });
  }
});

describe('softcam through ModelExplainer', () => {
  it('finds the evidence map, explains it, and returns A_c whose mean is the class logit', async () => {
    const model = new Uint8Array(readFileSync(path.join(MODEL_DIR, 'softcam-digits.onnx')));
    const image = decodeImage(new Uint8Array(readFileSync(path.join(SAMPLES, 'sample-1.png'))));
    const explainer = await ModelExplainer.create({ model, metadata: readModelMetadata(path.join(MODEL_DIR, 'model.json')), engine: await testEngine(), ort, numThreads: 1 });
    try {
      expect(explainer.evidenceLayer).toBe('evidence');
      expect(explainer.layer).toBe('evidence');
      for (const classIndex of [undefined, 7]) {
        const e = await explainer.explain(image, { method: 'softcam', classIndex });
        const logit = e.top5.find((c) => c.index === e.classIndex)?.logit;
        const evidence = e.evidence!;
        expect([evidence.height, evidence.width]).toEqual([7, 7]);
        if (logit !== undefined) expect(Math.abs(mean(evidence.data) - logit)).toBeLessThanOrEqual(1e-4);
        expect(e.signedMap!.length).toBe(224 * 224);
      }
    } finally {
      await explainer.dispose();
    }
    // The metadata can be absent: a layer named like 'evidence' with one channel per class is found.
    const bare = await ModelExplainer.create({ model, engine: await createCamEngine({ backend: 'cpu' }), ort, numThreads: 1 });
    try {
      expect(bare.evidenceLayer).toBe('evidence');
    } finally {
      await bare.dispose();
    }
  });

  it('refuses softcam on a model without a class-evidence map', async () => {
    const model = new Uint8Array(readFileSync(path.join(ROOT, 'models/digits/digits-resnet.onnx')));
    const explainer = await ModelExplainer.create({ model, engine: await createCamEngine({ backend: 'cpu' }), ort, numThreads: 1 });
    try {
      expect(explainer.evidenceLayer).toBeUndefined();
      const image = decodeImage(new Uint8Array(readFileSync(path.join(SAMPLES, 'sample-0.png'))));
      await expect(explainer.explain(image, { method: 'softcam' })).rejects.toThrow(/softcam needs a Soft-CAM model/);
    } finally {
      await explainer.dispose();
    }
  });
});
