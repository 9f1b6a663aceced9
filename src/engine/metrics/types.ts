/** What every metric is given: the image as the model sees it, the class, and the model. */
import type { ImageSize, Perturber } from './perturber.js';

/**
 * The model as the metrics use it: the softmax probability of one class for a batch of
 * normalised inputs [count, 3, H, W]. `runs` counts the inputs scored so far (the cost).
 */
export interface ProbabilityScorer {
  probabilities(inputs: Float32Array, count: number, classIndex: number): Promise<Float32Array>;
  readonly runs: number;
}

export interface MetricImage extends ImageSize {
  /** The normalised model input [3, H, W]: (rgb / 255 - mean) / std. */
  input: Float32Array;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  classIndex: number;
}

export interface MetricContext {
  scorer: ProbabilityScorer;
  perturber: Perturber;
  /** Perturbed copies scored per model call (default 16). */
  batchSize?: number;
}

/** Score `copies` [n, 3, H, W] in chunks of the context's batch size. */
export async function scoreAll(ctx: MetricContext, copies: Float32Array, count: number, plane: number, classIndex: number): Promise<Float32Array> {
  const out = new Float32Array(count);
  const batch = ctx.batchSize ?? 16;
  for (let first = 0; first < count; first += batch) {
    const n = Math.min(batch, count - first);
    out.set(await ctx.scorer.probabilities(copies.subarray(first * 3 * plane, (first + n) * 3 * plane), n, classIndex), first);
  }
  return out;
}

/** A constant [3, H, W] image of `values` per channel. */
export function constantImage(values: readonly number[], plane: number): Float32Array {
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) out.fill(values[c], c * plane, (c + 1) * plane);
  return out;
}

/** The normalised value of black (rgb 0): -mean / std per channel. */
export function normalisedBlack(image: MetricImage): Float32Array {
  return constantImage([0, 1, 2].map((c) => Math.fround(-image.mean[c] / image.std[c])), image.height * image.width);
}
