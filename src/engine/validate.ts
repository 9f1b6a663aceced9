import { InputRangeError, InvalidOptionError, NonFiniteInputError, ShapeMismatchError } from './errors.js';
import { CAM_METHODS, GRADIENT_FREE_METHODS, type CamInput, type CamMethod, type CamOptions } from './types.js';
import { MODEL_SCORED_METHODS } from './types.js';
import { resolveClusCamOptions } from './reference/cluscam.js';

export function assertMethod(method: string): asserts method is CamMethod {
  if (!(CAM_METHODS as readonly string[]).includes(method)) {
    throw new InvalidOptionError(`unknown method '${method}'; choose one of ${CAM_METHODS.join(', ')}`);
  }
}

function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

function maxAbs(data: Float32Array): number {
  let largest = 0;
  for (let i = 0; i < data.length; i++) largest = Math.max(largest, Math.abs(data[i]));
  return largest;
}

/** Validation's whole-array scans; the CPU fast path passes WebAssembly SIMD ones (same answers). */
export interface ValueScans {
  /** Index of the first NaN or Inf, or -1. */
  firstNonFinite(data: Float32Array): number;
  /** Largest absolute value (of finite data). */
  maxAbs(data: Float32Array): number;
}

export const TYPESCRIPT_SCANS: ValueScans = { firstNonFinite, maxAbs };

/**
 * CF-CAM sums squares of activations (channel norms, pairwise distances) in float32. Reject
 * magnitudes whose squared sums could overflow, which would turn the percentiles into NaN.
 */
function assertNormsFitFloat32(activations: Float32Array, pixels: number, scans: ValueScans): void {
  const largest = scans.maxAbs(activations);
  // A distance sums `pixels` squared differences of up to 2 * largest each.
  const limit = Math.sqrt(3.4e38 / pixels) / 2;
  if (largest > limit) {
    throw new InputRangeError(
      `activations reach ${largest.toExponential(2)}; CF-CAM's squared norms and distances would overflow float32 above ${limit.toExponential(2)} for ${pixels} pixels: rescale the activations`,
    );
  }
}

/**
 * Soft-CAM shows one evidence-map channel per image: `classIndices` must hold `batch` integers
 * in 0..channels-1 (the channels of the evidence are the classes).
 */
export function assertSoftcamClassIndices(classIndices: ArrayLike<number> | undefined, batch: number, channels: number): void {
  if (!classIndices) {
    throw new InvalidOptionError(`method softcam needs classIndices: one class (evidence-map channel, 0..${channels - 1}) per image`);
  }
  if (classIndices.length !== batch) {
    throw new ShapeMismatchError(`softcam classIndices hold ${classIndices.length} values; batch ${batch} needs one per image`);
  }
  for (let b = 0; b < batch; b++) {
    const c = classIndices[b];
    if (!Number.isInteger(c) || c < 0 || c >= channels) {
      throw new InvalidOptionError(`softcam classIndices[${b}] = ${c} is not a class of the evidence map: use an integer in 0..${channels - 1}`);
    }
  }
}

/** Reject inputs that would give a silently wrong map: bad shapes, NaN/Inf, bad options. */
export function validateCamInput(method: CamMethod, input: CamInput, options: CamOptions = {}, scans: ValueScans = TYPESCRIPT_SCANS): void {
  const { batch, channels, height, width, outHeight, outWidth } = input.shape;
  for (const [name, v] of Object.entries({ batch, channels, height, width, outHeight, outWidth })) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeMismatchError(`${name} must be a positive integer, got ${v}`);
  }
  const expected = batch * channels * height * width;
  if (input.activations.length !== expected) {
    throw new ShapeMismatchError(`activations hold ${input.activations.length} values; [${batch},${channels},${height},${width}] needs ${expected}`);
  }
  let index = scans.firstNonFinite(input.activations);
  if (index >= 0) throw new NonFiniteInputError(`activations contain ${input.activations[index]} at flat index ${index}`);
  if (!GRADIENT_FREE_METHODS.has(method)) {
    if (!input.gradients) throw new ShapeMismatchError(`method ${method} needs gradients`);
    if (input.gradients.length !== expected) {
      throw new ShapeMismatchError(`gradients hold ${input.gradients.length} values but activations are [${batch},${channels},${height},${width}]`);
    }
    index = scans.firstNonFinite(input.gradients);
    if (index >= 0) throw new NonFiniteInputError(`gradients contain ${input.gradients[index]} at flat index ${index}`);
  }
  if (method === 'cfcam') assertNormsFitFloat32(input.activations, height * width, scans);
  if (method === 'softcam') assertSoftcamClassIndices(input.classIndices, batch, channels);
  if (MODEL_SCORED_METHODS.has(method)) assertScoredInput(method, input, options);
  if (options.mode !== undefined && options.mode !== 'reference' && options.mode !== 'bilateral') {
    throw new InvalidOptionError(`mode must be 'reference' or 'bilateral', got '${options.mode}'`);
  }
  const chunk = options.cfcamChunkImages;
  if (chunk !== undefined && !(Number.isInteger(chunk) && chunk >= 1)) {
    throw new InvalidOptionError(`cfcamChunkImages must be a positive integer, got ${chunk}`);
  }
  const b = options.bilateral ?? {};
  for (const key of ['sigmaColor', 'sigmaSpace'] as const) {
    const v = b[key];
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new InvalidOptionError(`bilateral ${key} must be > 0, got ${v}`);
  }
  if (b.d !== undefined && !Number.isInteger(b.d)) throw new InvalidOptionError(`bilateral d must be an integer, got ${b.d}`);
}

/**
 * Score-CAM and ClusCAM: a scorer whose inputs, classes and base logits fit the batch, finite
 * values, and their options (scoreBatchSize; ClusCAM's K, r, tau, K-Means settings).
 */
export function assertScoredInput(method: CamMethod, input: CamInput, options: CamOptions): void {
  const { batch, channels, outHeight, outWidth } = input.shape;
  const scorer = input.scorer;
  if (!scorer) {
    throw new ShapeMismatchError(`method ${method} scores masked inputs with the model: pass CamInput.scorer (ModelExplainer and \`webgpu-cam explain\` do)`);
  }
  const inputs = batch * 3 * outHeight * outWidth;
  if (scorer.inputs?.length !== inputs) {
    throw new ShapeMismatchError(`scorer inputs hold ${scorer.inputs?.length} values; ${method} masks them at the map size, so [${batch},3,${outHeight},${outWidth}] needs ${inputs}`);
  }
  const index = firstNonFinite(scorer.inputs);
  if (index >= 0) throw new NonFiniteInputError(`scorer inputs contain ${scorer.inputs[index]} at flat index ${index}`);
  if (scorer.classIndices?.length !== batch) throw new ShapeMismatchError(`scorer classIndices hold ${scorer.classIndices?.length} values; batch ${batch} needs one per image`);
  if (scorer.baseLogits?.length !== batch) throw new ShapeMismatchError(`scorer baseLogits hold ${scorer.baseLogits?.length} values; batch ${batch} needs one per image`);
  for (let b = 0; b < batch; b++) {
    if (!Number.isFinite(scorer.baseLogits[b])) throw new NonFiniteInputError(`scorer baseLogits[${b}] is ${scorer.baseLogits[b]}`);
    if (scorer.classIndices[b] < 0) throw new InvalidOptionError(`scorer classIndices[${b}] is ${scorer.classIndices[b]}; use a class index >= 0`);
  }
  const size = options.scoreBatchSize;
  if (size !== undefined && !(Number.isInteger(size) && size >= 1)) {
    throw new InvalidOptionError(`scoreBatchSize must be a positive integer (masked inputs per model call), got ${size}`);
  }
  if (method === 'cluscam') resolveClusCamOptions(options.cluscam, channels);
}
