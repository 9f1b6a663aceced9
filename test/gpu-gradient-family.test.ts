/**
 * GPU Grad-CAM family and Eigen-CAM (WebGPU through Dawn; SwiftShader without a GPU) against
 * the golden pytorch-grad-cam maps and against the CPU reference.
 *
 * The methods are encoded through a Recorder directly (not createCamEngine) so inputs can be
 * bound as windows of a larger buffer, as ONNX Runtime hands them over.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Recorder, type BufferBinding } from '../src/engine/gpu/recorder';
import { encodeEigencam } from '../src/engine/methods/eigencam/gpu';
import { encodeGradientFamily } from '../src/engine/methods/gradient-family/gpu';
import type { GpuCamInputs } from '../src/engine/methods/encode';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import type { CamInput, CamOptions, CamShape } from '../src/engine/types';
import type { GradientMethod } from '../src/engine/methods/gradient-family/cpu';
import { goldenCaseNames, loadGoldenCase, maxAbsDiff, type GoldenCase } from './helpers/golden';
import { testEngine, testGpu } from './helpers/gpu';

type FamilyMethod = GradientMethod | 'eigencam';
const METHODS: readonly FamilyMethod[] = ['gradcam', 'gradcampp', 'xgradcam', 'layercam', 'hirescam', 'eigencam'];
const TOLERANCE = 1e-4;

/** Storage offsets must be multiples of this (WebGPU's minStorageBufferOffsetAlignment). */
const OFFSET_ALIGNMENT = 256;

/**
 * Run `method` on the GPU in one recorder and read the maps back. With `windowed`, both
 * tensors share one buffer at aligned, non-zero offsets, as buffers handed over by ONNX
 * Runtime can, so the kernels must honour binding offsets and sizes.
 */
async function runGpu(method: FamilyMethod, input: CamInput, options: CamOptions = {}, windowed = false): Promise<Float32Array> {
  const ctx = await testGpu();
  const { device } = ctx;
  const rec = new Recorder(ctx, { label: method });
  const bytes = input.activations.byteLength;
  const upload = (buffer: GPUBuffer, offset: number, data: Float32Array) =>
    device.queue.writeBuffer(buffer, offset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);

  let activations: BufferBinding;
  let gradients: BufferBinding | null = null;
  if (windowed) {
    const slot = Math.ceil(bytes / OFFSET_ALIGNMENT) * OFFSET_ALIGNMENT;
    const shared = rec.storage(OFFSET_ALIGNMENT + 2 * slot, 'inputs');
    upload(shared, OFFSET_ALIGNMENT, input.activations);
    activations = { buffer: shared, offset: OFFSET_ALIGNMENT, size: bytes };
    if (method !== 'eigencam') {
      upload(shared, OFFSET_ALIGNMENT + slot, input.gradients!);
      gradients = { buffer: shared, offset: OFFSET_ALIGNMENT + slot, size: bytes };
    }
  } else {
    activations = rec.storage(bytes, 'activations');
    upload(activations, 0, input.activations);
    if (method !== 'eigencam') {
      gradients = rec.storage(bytes, 'gradients');
      upload(gradients, 0, input.gradients!);
    }
  }

  const inputs: GpuCamInputs = { shape: input.shape, activations, gradients };
  try {
    const { map } = method === 'eigencam' ? encodeEigencam(rec, inputs, options) : encodeGradientFamily(rec, method, inputs);
    const { shape } = input;
    const index = rec.read(map, shape.batch * shape.outHeight * shape.outWidth * 4);
    const { readbacks } = await rec.submit();
    return new Float32Array(readbacks[index]);
  } catch (error) {
    rec.abandon();
    throw error;
  }
}

function goldenInput(g: GoldenCase): CamInput {
  const { channels, height, width, output_size: size } = g.meta;
  return {
    shape: { batch: 1, channels, height, width, outHeight: size, outWidth: size },
    activations: g.activations,
    gradients: g.gradients,
  };
}

/** Several single-image inputs of one shape stacked into a batch. */
function stack(inputs: CamInput[]): CamInput {
  const concat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return {
    shape: { ...inputs[0].shape, batch: inputs.length },
    activations: concat(inputs.map((i) => i.activations)),
    gradients: concat(inputs.map((i) => i.gradients!)),
  };
}

/** Deterministic synthetic tensors: ReLU-like activations (some exact zeros), signed gradients. */
function synthetic(shape: CamShape, seed: number): CamInput {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const n = shape.batch * shape.channels * shape.height * shape.width;
  const activations = new Float32Array(n);
  const gradients = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    activations[i] = Math.max(0, 3 * next() - 0.8);
    gradients[i] = next() < 0.1 ? 0 : 2 * next() - 1;
  }
  return { shape, activations, gradients };
}

// Max differences by case and method, printed at the end for the report.
const report: Record<string, Record<string, string>> = {};
function note(caseName: string, method: string, what: string, diff: number): void {
  const row = (report[caseName] ??= {});
  const entry = `${what} ${diff.toExponential(2)}`;
  row[method] = row[method] ? `${row[method]}, ${entry}` : entry;
}
afterAll(() => {
  console.table(report);
});

describe.each(goldenCaseNames())('golden case %s', (name) => {
  const golden = loadGoldenCase(name);
  const input = goldenInput(golden);

  it.each(METHODS)('%s matches the golden map and the CPU reference', async (method) => {
    const gpu = await runGpu(method, input);
    const expected = golden.maps[method];
    expect(expected, `${name} has no ${method}.npy`).toBeDefined();
    const vsGolden = maxAbsDiff(gpu, expected);
    const cpu = computeCamCpu(method, input).maps;
    const vsCpu = maxAbsDiff(gpu, cpu);
    note(name, method, 'golden', vsGolden);
    note(name, method, 'cpu', vsCpu);
    expect(vsGolden).toBeLessThan(TOLERANCE);
    expect(vsCpu).toBeLessThan(TOLERANCE);
  });
});

describe('batches', () => {
  // Three golden cases of one shape: one batched call must give each image's lone result.
  const names = ['bridges-141', 'bridges-143', 'bridges-249'];
  const singles = names.map((n) => goldenInput(loadGoldenCase(n)));

  it.each(METHODS)('%s: a batch of 3 equals each image alone', async (method) => {
    const batched = await runGpu(method, stack(singles));
    const size = singles[0].shape.outHeight * singles[0].shape.outWidth;
    for (let b = 0; b < singles.length; b++) {
      const alone = await runGpu(method, singles[b]);
      const diff = maxAbsDiff(batched.subarray(b * size, (b + 1) * size), alone);
      note(`batch[${b}] ${names[b]}`, method, 'vs alone', diff);
      expect(diff).toBeLessThan(1e-6);
    }
  });
});

describe('non-square synthetic inputs, GPU vs CPU', () => {
  const cases: Record<string, CamShape> = {
    // C <= HW: Eigen-CAM takes the C x C Gram matrix.
    'C5 3x4 -> 7x9': { batch: 2, channels: 5, height: 3, width: 4, outHeight: 7, outWidth: 9 },
    // C > HW: Eigen-CAM takes the HW x HW Gram matrix.
    'C20 3x4 -> 9x7': { batch: 2, channels: 20, height: 3, width: 4, outHeight: 9, outWidth: 7 },
    // Bigger than one workgroup in every reduction and tile (HW = 300 > 256, C = 70 > 64).
    'C70 15x20 -> 16x12': { batch: 1, channels: 70, height: 15, width: 20, outHeight: 16, outWidth: 12 },
    // Eigen-CAM's n = 261 (C <= HW): the power step's widest workgroup (64), Gram blocks that
    // end past n (261 = 65 * 4 + 1), two images.
    'C261 17x17 -> 8x8': { batch: 2, channels: 261, height: 17, width: 17, outHeight: 8, outWidth: 8 },
  };

  describe.each(Object.entries(cases))('%s', (label, shape) => {
    const input = synthetic(shape, 7 + shape.channels);
    it.each(METHODS)('%s', async (method) => {
      const gpu = await runGpu(method, input, {}, true);
      const diff = maxAbsDiff(gpu, computeCamCpu(method, input).maps);
      note(label, method, 'cpu', diff);
      expect(diff).toBeLessThan(TOLERANCE);
    });
  });
});

describe('through the engine', () => {
  // encodeCam's routing and the engine's upload/readback, on the smallest golden case.
  const golden = loadGoldenCase('small');
  it.each(METHODS)('%s: createCamEngine matches the golden map', async (method) => {
    const engine = await testEngine();
    const run = await engine.compute(method, goldenInput(golden));
    expect(maxAbsDiff(run.maps, golden.maps[method])).toBeLessThan(TOLERANCE);
  });
});

describe('Eigen-CAM edge cases', () => {
  it('constant channels (a zero Gram matrix) give an all-zero map, not NaN', async () => {
    const shape = { batch: 1, channels: 6, height: 2, width: 3, outHeight: 4, outWidth: 4 };
    const activations = new Float32Array(36);
    for (let k = 0; k < 6; k++) activations.fill(k + 0.5, k * 6, (k + 1) * 6);
    const gpu = await runGpu('eigencam', { shape, activations });
    expect(Array.from(gpu)).toEqual(new Array(16).fill(0));
  });

  it('rejects a non-positive iteration count', async () => {
    const input = synthetic({ batch: 1, channels: 3, height: 2, width: 2, outHeight: 2, outWidth: 2 }, 1);
    await expect(runGpu('eigencam', input, { eigenIterations: 0 })).rejects.toThrow(/eigenIterations/);
  });
});
