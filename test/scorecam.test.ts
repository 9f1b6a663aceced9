/**
 * Score-CAM: the mask kernels against the reference, the GPU method (Dawn; SwiftShader without
 * a GPU) against its CPU twin with a synthetic linear "model", validation, and one explanation
 * of the bundled digits model through ModelExplainer (ORT wasm EP) on the GPU and CPU engines.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { createCamEngine } from '../src/engine/engine';
import { InvalidOptionError, NonFiniteInputError, ShapeMismatchError } from '../src/engine/errors';
import { Recorder } from '../src/engine/gpu/recorder';
import { writeFloats } from '../src/engine/gpu/upload';
import { extremeSamples, recordChannelMaskedInputs, recordChannelMasks } from '../src/engine/methods/scored/channel-masks';
import { recordMaskedInputs } from '../src/engine/methods/scored/masked-inputs';
import { maskChunks, scoreChunksPipelined } from '../src/engine/methods/scored/chunks';
import { BatchedClassifier, makeBatchDynamic } from '../src/engine/model/batched-model';
import { ModelExplainer } from '../src/engine/model/explainer';
import { decodeImage } from '../src/engine/model/image-io';
import { loadModelMetadata } from '../src/engine/model/metadata';
import { DataType, encodeModel, floatTensor, int64Tensor, makeNode, makeValueInfo } from '../src/engine/model/onnx-io';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import { channelMask, maskInputs } from '../src/engine/methods/scored/masks-cpu';
import { resizeBilinear } from '../src/engine/methods/common/resize-cpu';
import { prng } from './helpers/random';
import type { CamInput, CamShape } from '../src/engine/types';
import { maxAbsDiff } from './helpers/golden';
import { testEngine, testGpu } from './helpers/gpu';
import { randomLayer, syntheticScorer } from './helpers/scorer';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'models/digits/digits-resnet.onnx');
const SAMPLE = path.join(ROOT, 'models/digits/samples/sample-0.png');

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

const SHAPE: CamShape = { batch: 2, channels: 13, height: 5, width: 7, outHeight: 24, outWidth: 28 };

function scoredInput(shape: CamShape, seed: number): CamInput & { scorer: ReturnType<typeof syntheticScorer> } {
  return { shape, activations: randomLayer(shape, seed), scorer: syntheticScorer(shape, seed + 100) };
}

describe('the pipelined chunk loop (masked inputs of the next chunk while the model scores)', () => {
  it('reports a masked-input failure that happens while the model scores, as a rejection of the call', async () => {
    const chunks = maskChunks(1, 8, 4);
    expect(chunks).toHaveLength(2);
    const failure = new Error('submit failed');
    const scored: number[] = [];
    const masked = (c: { first: number }) => (c.first === 0 ? Promise.resolve(new Float32Array(1)) : Promise.reject(failure));
    // The second chunk's failure lands while the first is being scored (an unhandled rejection
    // there would fail this test file).
    const score = async (c: { first: number }) => {
      await new Promise((r) => setTimeout(r, 30));
      scored.push(c.first);
    };
    await expect(scoreChunksPipelined(chunks, masked, score)).rejects.toBe(failure);
    expect(scored).toEqual([0]);
  });
});

describe('channel mask and masked-input kernels', () => {
  it('upsample and normalise channel ranges as the reference does, for both normalisations', async () => {
    const gpu = await testGpu();
    const shape = SHAPE;
    const activations = randomLayer(shape, 3);
    const { channels: C, height: h, width: w, outHeight: H, outWidth: W } = shape;
    const range = { image: 1, first: 0, count: 6 }; // channels 0..5: 1 is constant, 2 is zero
    for (const norm of ['scorecam', 'cluscam'] as const) {
      const rec = new Recorder(gpu);
      const buffer = rec.storage(activations.byteLength, 'activations');
      writeFloats(gpu.device, buffer, activations);
      let masks!: GPUBuffer;
      rec.stage('masks', (pass) => {
        masks = recordChannelMasks(rec, pass, buffer, shape, range, norm);
      });
      const index = rec.read(masks, range.count * H * W * 4);
      const got = new Float32Array((await rec.submit()).readbacks[index]);
      for (let j = 0; j < range.count; j++) {
        const k = range.first + j;
        const channel = activations.subarray((range.image * C + k) * h * w, (range.image * C + k + 1) * h * w);
        const want = channelMask(channel, h, w, H, W, norm);
        expect(maxAbsDiff(got.subarray(j * H * W, (j + 1) * H * W), want)).toBeLessThanOrEqual(1e-5);
      }
      const constant = got.subarray(H * W, 2 * H * W);
      // Score-CAM's +1e-8 turns a constant channel into zeros; ClusCAM keeps it (0.75).
      expect(Math.max(...constant)).toBeCloseTo(norm === 'scorecam' ? 0 : 0.75, 6);
      expect(Math.min(...constant)).toBeCloseTo(norm === 'scorecam' ? 0 : 0.75, 6);
      const blob = got.subarray(0, H * W);
      expect(Math.min(...blob)).toBeCloseTo(0, 6);
      expect(Math.max(...blob)).toBeCloseTo(1, 6);
    }
  });

  it('finds every upsampled channel\'s extremes among the cell-boundary samples', () => {
    const rand = prng(77);
    for (const align of [false, true])
    for (const [h, w, H, W] of [[5, 7, 24, 28], [7, 7, 224, 224], [6, 5, 26, 21], [3, 4, 3, 4], [9, 8, 5, 6], [1, 7, 20, 30], [14, 14, 224, 200]]) {
      const rows = extremeSamples(h, H, align);
      const cols = extremeSamples(w, W, align);
      if (H >= 16 * h) expect(rows.length).toBeLessThanOrEqual(2 * h + 2);
      for (let trial = 0; trial < 20; trial++) {
        const channel = Float64Array.from({ length: h * w }, () => rand() * 4 - 2);
        const up = resizeBilinear(channel, h, w, H, W, align);
        let lo = Infinity;
        let hi = -Infinity;
        for (const y of rows) for (const x of cols) { lo = Math.min(lo, up[y * W + x]); hi = Math.max(hi, up[y * W + x]); }
        expect(lo).toBe(Math.min(...up));
        expect(hi).toBe(Math.max(...up));
      }
    }
  });

  it('applies the masks to the input without storing them (Score-CAM), as masks then masked inputs do', async () => {
    const gpu = await testGpu();
    const input = scoredInput(SHAPE, 6);
    const { channels: C, height: h, width: w, outHeight: H, outWidth: W } = SHAPE;
    const plane = H * W;
    const range = { image: 1, first: 3, count: 7 };
    const rec = new Recorder(gpu);
    const activations = rec.storage(input.activations.byteLength, 'activations');
    writeFloats(gpu.device, activations, input.activations);
    const inputs = rec.storage(input.scorer.inputs.byteLength, 'inputs');
    writeFloats(gpu.device, inputs, input.scorer.inputs);
    let fused!: GPUBuffer;
    let twoStep!: GPUBuffer;
    rec.stage('masked', (pass) => {
      fused = recordChannelMaskedInputs(rec, pass, activations, inputs, SHAPE, range, 'scorecam');
      const masks = recordChannelMasks(rec, pass, activations, SHAPE, range, 'scorecam');
      twoStep = recordMaskedInputs(rec, pass, inputs, masks, { height: H, width: W }, { image: 1, first: 0, count: range.count });
    });
    const a = rec.read(fused, range.count * 3 * plane * 4);
    const b = rec.read(twoStep, range.count * 3 * plane * 4);
    const { readbacks } = await rec.submit();
    const got = new Float32Array(readbacks[a]);
    expect(maxAbsDiff(got, new Float32Array(readbacks[b]))).toBe(0);
    const masks = Array.from({ length: range.count }, (_, j) => {
      const k = range.image * C + range.first + j;
      return channelMask(input.activations.subarray(k * h * w, (k + 1) * h * w), h, w, H, W, 'scorecam');
    });
    expect(maxAbsDiff(got, maskInputs(input.scorer.inputs.subarray(3 * plane, 6 * plane), masks, plane))).toBeLessThanOrEqual(1e-4);
  });

  it('multiplies the input by each mask, broadcast over RGB', async () => {
    const gpu = await testGpu();
    const { scorer } = scoredInput(SHAPE, 5);
    const plane = SHAPE.outHeight * SHAPE.outWidth;
    const masks = Array.from({ length: 5 }, (_, j) => Float64Array.from({ length: plane }, (_, p) => ((p * (j + 3)) % 17) / 16));
    const rec = new Recorder(gpu);
    const inputs = rec.storage(scorer.inputs.byteLength, 'inputs');
    writeFloats(gpu.device, inputs, scorer.inputs);
    const maskBuffer = rec.storage(5 * plane * 4, 'masks');
    writeFloats(gpu.device, maskBuffer, Float32Array.from(masks.flatMap((m) => [...m])));
    let out!: GPUBuffer;
    rec.stage('masked', (pass) => {
      out = recordMaskedInputs(rec, pass, inputs, maskBuffer, { height: SHAPE.outHeight, width: SHAPE.outWidth }, { image: 1, first: 2, count: 3 });
    });
    const index = rec.read(out, 3 * 3 * plane * 4);
    const got = new Float32Array((await rec.submit()).readbacks[index]);
    const want = maskInputs(scorer.inputs.subarray(3 * plane, 6 * plane), masks.slice(2, 5), plane);
    expect(maxAbsDiff(got, want)).toBe(0);
  });
});

describe('Score-CAM (GPU vs CPU reference)', () => {
  for (const scoreBatchSize of [4, 5, 16]) {
    it(`gives the reference maps with ${scoreBatchSize} masked inputs per model call (C = 13)`, async () => {
      const gpuInput = scoredInput(SHAPE, 11);
      const cpuInput = scoredInput(SHAPE, 11);
      const gpu = await (await testEngine()).compute('scorecam', gpuInput, { scoreBatchSize, timing: true });
      const cpu = await (await createCamEngine({ backend: 'cpu' })).compute('scorecam', cpuInput, { scoreBatchSize });
      expect(gpu.maps.length).toBe(SHAPE.batch * SHAPE.outHeight * SHAPE.outWidth);
      expect(maxAbsDiff(gpu.maps, cpu.maps)).toBeLessThanOrEqual(1e-4);
      for (let b = 0; b < SHAPE.batch; b++) {
        const map = gpu.maps.subarray(b * 24 * 28, (b + 1) * 24 * 28);
        expect(Math.max(...map)).toBeCloseTo(1, 4);
        expect(Math.min(...map)).toBeCloseTo(0, 4);
      }
      const counts: number[] = [];
      for (let first = 0; first < SHAPE.channels; first += scoreBatchSize) counts.push(Math.min(scoreBatchSize, SHAPE.channels - first));
      const expected = [0, 1].flatMap((image) => counts.map((count) => ({ image, count })));
      expect(gpuInput.scorer.calls).toEqual(expected);
      expect(cpuInput.scorer.calls).toEqual(expected);
    });
  }

  it('with equal scores weighs every channel equally: Grad-CAM with constant gradients', async () => {
    const input = scoredInput(SHAPE, 21);
    input.scorer.score = async (_masked, count) => new Float32Array(count).fill(2.5);
    const got = await (await testEngine()).compute('scorecam', input);
    const want = computeCamCpu('gradcam', { shape: SHAPE, activations: input.activations, gradients: new Float32Array(input.activations.length).fill(1) });
    expect(maxAbsDiff(got.maps, want.maps)).toBeLessThanOrEqual(1e-4);
  });

  it('releases its buffers, also when the model fails half way', async () => {
    const engine = await testEngine();
    const pool = engine.gpu!.pool;
    await engine.compute('scorecam', scoredInput(SHAPE, 31), { scoreBatchSize: 4 });
    const bytes = pool.bytes;
    const failing = scoredInput(SHAPE, 32);
    let calls = 0;
    failing.scorer.score = async (_m, count) => {
      if (++calls === 3) throw new Error('model failed');
      return new Float32Array(count);
    };
    await expect(engine.compute('scorecam', failing, { scoreBatchSize: 4 })).rejects.toThrow(/model failed/);
    const again = await engine.compute('scorecam', scoredInput(SHAPE, 31), { scoreBatchSize: 4 });
    expect(pool.bytes).toBe(bytes);
    expect(again.maps.every(Number.isFinite)).toBe(true);
  });

  it('rejects a missing or mis-shaped scorer, bad batch sizes and non-finite logits', async () => {
    for (const engine of [await testEngine(), await createCamEngine({ backend: 'cpu' })]) {
      const input = scoredInput(SHAPE, 41);
      await expect(engine.compute('scorecam', { ...input, scorer: undefined })).rejects.toThrow(ShapeMismatchError);
      await expect(engine.compute('scorecam', { ...input, scorer: { ...input.scorer, inputs: new Float32Array(10) } })).rejects.toThrow(/scorer inputs hold 10 values/);
      await expect(engine.compute('scorecam', { ...input, scorer: { ...input.scorer, baseLogits: new Float32Array(1) } })).rejects.toThrow(ShapeMismatchError);
      for (const scoreBatchSize of [0, 2.5, -1]) {
        await expect(engine.compute('scorecam', input, { scoreBatchSize })).rejects.toThrow(InvalidOptionError);
      }
      const nan = scoredInput(SHAPE, 42);
      nan.scorer.score = async (_m, count) => new Float32Array(count).fill(NaN);
      await expect(engine.compute('scorecam', nan)).rejects.toThrow(NonFiniteInputError);
      const short = scoredInput(SHAPE, 43);
      short.scorer.score = async () => new Float32Array(1);
      await expect(engine.compute('scorecam', short, { scoreBatchSize: 4 })).rejects.toThrow(/returned 1 logits for 4/);
    }
  });
});

/** A classifier whose Reshape pins the batch to 1: Conv -> GAP -> Reshape [1, 2] -> Gemm. */
function pinnedBatchModel(): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'pinned',
      node: [
        makeNode('Conv', ['x', 'w'], ['conv'], 'conv', { pads: [1, 1, 1, 1] }),
        makeNode('GlobalAveragePool', ['conv'], ['gap'], 'gap'),
        makeNode('Reshape', ['gap', 'shape'], ['flat'], 'reshape'),
        makeNode('Gemm', ['flat', 'fc'], ['logits'], 'fc', { transB: 1 }),
      ],
      initializer: [
        floatTensor('w', [2, 3, 3, 3], Array.from({ length: 54 }, (_, i) => Math.sin(i))),
        floatTensor('fc', [3, 2], [0.5, -0.25, 1, 0.75, -1, 0.3]),
        int64Tensor('shape', [2], [1, 2]),
      ],
      input: [makeValueInfo('x', DataType.FLOAT, [1, 3, 6, 6])],
      output: [makeValueInfo('logits', DataType.FLOAT, [1, 3])],
    },
  });
}

/** Passes makeBatchDynamic, but its Concat with a [1,...] constant fails for a batch of 2 when it runs. */
function runtimePinnedModel(): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'runtime-pinned',
      node: [
        makeNode('Concat', ['x', 'extra'], ['both'], 'concat', { axis: 1 }),
        makeNode('Conv', ['both', 'w'], ['conv'], 'conv', { pads: [1, 1, 1, 1] }),
        makeNode('GlobalAveragePool', ['conv'], ['gap'], 'gap'),
        makeNode('Flatten', ['gap'], ['flat'], 'flatten', { axis: 1 }),
        makeNode('Gemm', ['flat', 'fc'], ['logits'], 'fc', { transB: 1 }),
      ],
      initializer: [
        floatTensor('extra', [1, 1, 6, 6], Array.from({ length: 36 }, (_, i) => Math.cos(i))),
        floatTensor('w', [2, 4, 3, 3], Array.from({ length: 72 }, (_, i) => Math.sin(i))),
        floatTensor('fc', [3, 2], [0.5, -0.25, 1, 0.75, -1, 0.3]),
      ],
      input: [makeValueInfo('x', DataType.FLOAT, [1, 3, 6, 6])],
      output: [makeValueInfo('logits', DataType.FLOAT, [1, 3])],
    },
  });
}

describe('batched classifier', () => {
  const modelBytes = new Uint8Array(readFileSync(MODEL));

  it('makes the bundled model batch-dynamic, and batched logits equal one-at-a-time runs', async () => {
    expect(makeBatchDynamic(modelBytes).ok).toBe(true);
    const options = { model: modelBytes, inputName: 'input', inputShape: [1, 3, 224, 224], logitsName: 'logits', numClasses: 10, ort, numThreads: 1 };
    const classifier = new BatchedClassifier(options);
    try {
      expect(await classifier.mode()).toEqual({ batched: true, reason: undefined });
      const inputs = Float32Array.from({ length: 2 * 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
      const both = await classifier.classLogits(inputs, 2, 4);
      const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
      try {
        for (let j = 0; j < 2; j++) {
          const one = await session.run({ input: new ort.Tensor('float32', inputs.slice(j * 150528, (j + 1) * 150528), [1, 3, 224, 224]) });
          expect(both[j]).toBeCloseTo((one.logits.data as Float32Array)[4], 4);
        }
      } finally {
        await session.release();
      }
    } finally {
      await classifier.dispose();
    }
  });

  it('falls back to one input per run when a Reshape pins the batch', async () => {
    const model = pinnedBatchModel();
    const dynamic = makeBatchDynamic(model);
    expect(dynamic.ok).toBe(false);
    if (!dynamic.ok) expect(dynamic.reason).toMatch(/Reshape node 'reshape' reshapes to the literal shape \[1,2\]/);
    const classifier = new BatchedClassifier({ model, inputName: 'x', inputShape: [1, 3, 6, 6], logitsName: 'logits', numClasses: 3, ort, numThreads: 1 });
    try {
      expect((await classifier.mode()).batched).toBe(false);
      const inputs = Float32Array.from({ length: 3 * 108 }, (_, i) => Math.cos(i));
      const three = await classifier.classLogits(inputs, 3, 1);
      const second = await classifier.classLogits(inputs.slice(108, 216), 1, 1);
      expect(three[1]).toBe(second[0]);
      expect(three[0]).not.toBe(three[1]);
    } finally {
      await classifier.dispose();
    }
  });
});

describe('batched classifier whose batch is pinned only at run time', () => {
  it('falls back to one input per run after the first batched run fails', async () => {
    const model = runtimePinnedModel();
    expect(makeBatchDynamic(model).ok).toBe(true);
    const classifier = new BatchedClassifier({ model, inputName: 'x', inputShape: [1, 3, 6, 6], logitsName: 'logits', numClasses: 3, ort, numThreads: 1 });
    try {
      expect((await classifier.mode()).batched).toBe(true);
      const inputs = Float32Array.from({ length: 3 * 108 }, (_, i) => Math.cos(0.3 * i));
      const three = await classifier.classLogits(inputs, 3, 2);
      const mode = await classifier.mode();
      expect(mode.batched).toBe(false);
      expect(mode.reason).toMatch(/a batched run failed/);
      for (let j = 0; j < 3; j++) {
        const one = await classifier.classLogits(inputs.slice(j * 108, (j + 1) * 108), 1, 2);
        expect(three[j]).toBe(one[0]);
      }
    } finally {
      await classifier.dispose();
    }
  });
});

describe('Score-CAM on the bundled model (ModelExplainer)', () => {
  // 2 x 256 masked runs of the model on ORT's wasm EP: tens of seconds.
  it('gives the same map on the GPU and the CPU engine', { timeout: 400_000 }, async () => {
    const modelBytes = new Uint8Array(readFileSync(MODEL));
    const metadata = loadModelMetadata(MODEL);
    const image = decodeImage(new Uint8Array(readFileSync(SAMPLE)));
    const gpu = await ModelExplainer.create({ model: modelBytes, metadata, engine: await testEngine(), ort, numThreads: 1 });
    const cpu = await ModelExplainer.create({ model: modelBytes, metadata, engine: await createCamEngine({ backend: 'cpu' }), ort, numThreads: 1 });
    try {
      const a = await gpu.explain(image, { method: 'scorecam' });
      const b = await cpu.explain(image, { method: 'scorecam' });
      console.log(`scorecam on the bundled model: GPU engine ${a.timings.camMs.toFixed(0)} ms (model ${a.timings.scoreMs?.toFixed(0)} ms), CPU engine ${b.timings.camMs.toFixed(0)} ms (model ${b.timings.scoreMs?.toFixed(0)} ms)`);
      expect(a.classIndex).toBe(b.classIndex);
      expect(a.classIndex).toBe(a.top5[0].index);
      expect(a.map.length).toBe(224 * 224);
      expect(maxAbsDiff(a.map, b.map)).toBeLessThanOrEqual(1e-4);
      expect(Math.max(...a.map)).toBeCloseTo(1, 4);
      expect(a.timings.scoreMs).toBeGreaterThan(0);
      expect(a.timings.scoreMs!).toBeLessThanOrEqual(a.timings.camMs);
    } finally {
      await gpu.dispose();
      await cpu.dispose();
    }
  });
});
