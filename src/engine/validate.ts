import { InputRangeError, InvalidOptionError, NonFiniteInputError, ShapeMismatchError } from './errors.js';
import { CAM_METHODS, GRADIENT_FREE_METHODS, type CamInput, type CamMethod, type CamOptions } from './types.js';

export function assertMethod(method: string): asserts method is CamMethod {
  if (!(CAM_METHODS as readonly string[]).includes(method)) {
    throw new InvalidOptionError(`unknown method '${method}'; choose one of ${CAM_METHODS.join(', ')}`);
  }
}

function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * CF-CAM sums squares of activations (channel norms, pairwise distances) in float32. Reject
 * magnitudes whose squared sums could overflow, which would turn the percentiles into NaN.
 */
function assertNormsFitFloat32(activations: Float32Array, pixels: number): void {
  let largest = 0;
  for (let i = 0; i < activations.length; i++) largest = Math.max(largest, Math.abs(activations[i]));
  // A distance sums `pixels` squared differences of up to 2 * largest each.
  const limit = Math.sqrt(3.4e38 / pixels) / 2;
  if (largest > limit) {
    throw new InputRangeError(
      `activations reach ${largest.toExponential(2)}; CF-CAM's squared norms and distances would overflow float32 above ${limit.toExponential(2)} for ${pixels} pixels: rescale the activations`,
    );
  }
}

/** Reject inputs that would give a silently wrong map: bad shapes, NaN/Inf, bad options. */
export function validateCamInput(method: CamMethod, input: CamInput, options: CamOptions = {}): void {
  const { batch, channels, height, width, outHeight, outWidth } = input.shape;
  for (const [name, v] of Object.entries({ batch, channels, height, width, outHeight, outWidth })) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeMismatchError(`${name} must be a positive integer, got ${v}`);
  }
  const expected = batch * channels * height * width;
  if (input.activations.length !== expected) {
    throw new ShapeMismatchError(`activations hold ${input.activations.length} values; [${batch},${channels},${height},${width}] needs ${expected}`);
  }
  let index = firstNonFinite(input.activations);
  if (index >= 0) throw new NonFiniteInputError(`activations contain ${input.activations[index]} at flat index ${index}`);
  if (!GRADIENT_FREE_METHODS.has(method)) {
    if (!input.gradients) throw new ShapeMismatchError(`method ${method} needs gradients`);
    if (input.gradients.length !== expected) {
      throw new ShapeMismatchError(`gradients hold ${input.gradients.length} values but activations are [${batch},${channels},${height},${width}]`);
    }
    index = firstNonFinite(input.gradients);
    if (index >= 0) throw new NonFiniteInputError(`gradients contain ${input.gradients[index]} at flat index ${index}`);
  }
  if (method === 'cfcam') assertNormsFitFloat32(input.activations, height * width);
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
