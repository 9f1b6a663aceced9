/**
 * Map stability (CF-CAM's robust.py): the map recomputed with Gaussian noise added to the
 * gradients (the target layer's d logit / d activations) and, separately, to the normalised
 * input, compared with the clean map by SSIM and MSE (ssim.ts) at several noise levels.
 *
 * Deviations from robust.py, for a model-independent scale: the gradient noise's standard
 * deviation is `level` times the root mean square of the gradients (robust.py adds absolute
 * noise, whose effect depends on the model's gradient scale); the maps compared are the final
 * maps at the input size (robust.py compares the layer-resolution maps). Input noise is
 * absolute, in normalised units. Gradient-free methods have no gradient noise (null).
 */
import { gaussianStream } from './imputation.js';
import { mse, ssim } from './ssim.js';

export const GRADIENT_NOISE_LEVELS = [0.1, 0.3, 1, 3] as const;
export const INPUT_NOISE_LEVELS = [0.05, 0.1, 0.2, 0.3] as const;

export interface RobustnessOptions {
  gradientLevels?: readonly number[];
  inputLevels?: readonly number[];
  seed?: number;
}

export interface StabilityPoint {
  level: number;
  ssim: number;
  mse: number;
}

export interface RobustnessResult {
  gradient: StabilityPoint[] | null;
  input: StabilityPoint[];
}

/** How to get the map again under noise (ModelExplainer does both: see explainer.ts). */
export interface NoisyMaps {
  /** The map with these gradients instead of the model's; undefined for gradient-free methods. */
  withGradientNoise?: (transform: (gradients: Float32Array) => Float32Array) => Promise<Float32Array>;
  withInput: (input: Float32Array) => Promise<Float32Array>;
}

/** A copy of `data` plus N(0, sigma^2) noise from the seeded stream. */
export function addGaussianNoise(data: Float32Array, sigma: number, seed: number): Float32Array {
  const draw = gaussianStream(seed);
  return Float32Array.from(data, (v) => v + sigma * draw());
}

export function rootMeanSquare(data: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i] * data[i];
  return Math.sqrt(s / data.length);
}

export async function robustness(
  maps: NoisyMaps,
  clean: Float32Array,
  input: Float32Array,
  size: { height: number; width: number },
  options: RobustnessOptions = {},
): Promise<RobustnessResult> {
  const seed = options.seed ?? 0;
  const point = (level: number, noisy: Float32Array): StabilityPoint => ({ level, ssim: ssim(clean, noisy, size.height, size.width), mse: mse(clean, noisy) });
  let gradient: StabilityPoint[] | null = null;
  if (maps.withGradientNoise) {
    gradient = [];
    for (const [i, level] of (options.gradientLevels ?? GRADIENT_NOISE_LEVELS).entries()) {
      const noisy = await maps.withGradientNoise((g) => addGaussianNoise(g, level * rootMeanSquare(g), seed * 100 + i));
      gradient.push(point(level, noisy));
    }
  }
  const inputPoints: StabilityPoint[] = [];
  for (const [i, level] of (options.inputLevels ?? INPUT_NOISE_LEVELS).entries()) {
    inputPoints.push(point(level, await maps.withInput(addGaussianNoise(input, level, seed * 100 + 50 + i))));
  }
  return { gradient, input: inputPoints };
}
