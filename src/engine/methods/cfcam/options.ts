/** CF-CAM's options: defaults, resolution and checks, shared by the GPU encoder and the CPU twin. */
import { InputRangeError, InvalidOptionError } from '../../errors.js';
import type { BilateralParams, CamOptions, CfcamMode } from '../../types.js';

/** Mode `bilateral`'s defaults (OpenCV cv2.bilateralFilter parameters). */
export const DEFAULT_BILATERAL: BilateralParams = { d: 5, sigmaColor: 0.1, sigmaSpace: 5.0 };

/** Resolve the mode and the bilateral parameters (options.bilateral merged over the defaults). */
export function resolveCfcamOptions(options: CamOptions = {}): { mode: CfcamMode; bilateral: BilateralParams } {
  return { mode: options.mode ?? 'reference', bilateral: { ...DEFAULT_BILATERAL, ...(options.bilateral ?? {}) } };
}

/** Reject a mode, chunk size or bilateral parameter that CF-CAM cannot use. */
export function validateCfcamOptions(options: CamOptions): void {
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
 * CF-CAM sums squares of activations (channel norms, pairwise distances) in float32. Reject
 * magnitudes whose squared sums could overflow, which would turn the percentiles into NaN.
 */
export function assertNormsFitFloat32(activations: Float32Array, pixels: number): void {
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
