/**
 * Deletion and Insertion (RISE; CF-CAM's metrics/auc.py): pixels ordered by the map, most
 * relevant first (ranking.ts). Step k of `steps` (default 100) removes (deletion) or reveals
 * (insertion) the first k * floor(N / steps) pixels, the last step all N; the curve is the
 * class probability at steps 0..steps and the score its trapezoidal area over the perturbed
 * fraction in [0, 1]. Low deletion and high insertion areas mean a faithful map.
 *
 * Removed / not yet inserted pixels take a baseline's value:
 * - 'zero': 0 in normalised space (the ImageNet mean colour), auc.py's choice for both curves;
 * - 'blur': the image blurred by a zero-padded Gaussian (RISE's insertion substrate: 11 taps,
 *   sigma 5);
 * - 'mean': the image's own per-channel mean;
 * - 'black': rgb 0 (-mean / std).
 */
import { gaussianTaps } from './perturber.js';
import { pixelRanks } from './ranking.js';
import { constantImage, normalisedBlack, scoreAll, type MetricContext, type MetricImage } from './types.js';

export const BASELINES = ['zero', 'blur', 'mean', 'black'] as const;
export type Baseline = (typeof BASELINES)[number];

export interface DeletionInsertionOptions {
  steps?: number;
  deletionBaseline?: Baseline;
  insertionBaseline?: Baseline;
  /** 'blur' baseline: taps (odd) and sigma (default 11 and 5, as RISE). */
  blurTaps?: number;
  blurSigma?: number;
}

export interface CurveResult {
  /** Class probability at steps 0..steps. */
  curve: Float32Array;
  auc: number;
}

export interface DeletionInsertionResult {
  deletion: CurveResult;
  insertion: CurveResult;
}

/** The trapezoidal area of `curve` sampled at steps evenly spaced over [0, 1] (np.trapz). */
export function trapezoidAuc(curve: ArrayLike<number>): number {
  const n = curve.length - 1;
  let area = 0;
  for (let k = 0; k < n; k++) area += (curve[k] + curve[k + 1]) / 2;
  return area / n;
}

/** Pixels perturbed at each step: k * floor(N / steps), the last step all of them. */
export function stepCounts(pixels: number, steps: number): number[] {
  const step = Math.floor(pixels / steps);
  return Array.from({ length: steps + 1 }, (_, k) => (k === steps ? pixels : k * step));
}

export async function baselineImage(ctx: MetricContext, image: MetricImage, baseline: Baseline, options: DeletionInsertionOptions = {}): Promise<Float32Array> {
  const plane = image.height * image.width;
  switch (baseline) {
    case 'zero':
      return new Float32Array(3 * plane);
    case 'black':
      return normalisedBlack(image);
    case 'mean': {
      const means = [0, 1, 2].map((c) => {
        let s = 0;
        for (let p = 0; p < plane; p++) s += image.input[c * plane + p];
        return s / plane;
      });
      return constantImage(means, plane);
    }
    case 'blur':
      return ctx.perturber.blur(image.input, gaussianTaps(options.blurTaps ?? 11, options.blurSigma ?? 5), image);
  }
}

async function curve(ctx: MetricContext, image: MetricImage, ranks: Float32Array, base: Float32Array, counts: number[], insertion: boolean): Promise<CurveResult> {
  const plane = image.height * image.width;
  // Deletion keeps rank >= n (key > n - 0.5); insertion keeps rank < n (key < n - 0.5). Ranks
  // are integers below 2^24, exact in float32.
  const thresholds = Float32Array.from(counts, (n) => n - 0.5);
  const values = new Float32Array(counts.length);
  const chunk = Math.max(1, ctx.batchSize ?? 16);
  for (let first = 0; first < counts.length; first += chunk) {
    const t = thresholds.subarray(first, Math.min(counts.length, first + chunk));
    const copies = await ctx.perturber.perturb(image.input, base, ranks, t, insertion ? 'keepBelow' : 'keepAbove', image);
    values.set(await scoreAll(ctx, copies, t.length, plane, image.classIndex), first);
  }
  return { curve: values, auc: trapezoidAuc(values) };
}

export async function deletionInsertion(ctx: MetricContext, image: MetricImage, map: Float32Array, options: DeletionInsertionOptions = {}): Promise<DeletionInsertionResult> {
  const steps = options.steps ?? 100;
  const plane = image.height * image.width;
  const ranks = pixelRanks(map);
  const counts = stepCounts(plane, steps);
  const deletionBase = await baselineImage(ctx, image, options.deletionBaseline ?? 'zero', options);
  const insertionBase = await baselineImage(ctx, image, options.insertionBaseline ?? 'zero', options);
  return {
    deletion: await curve(ctx, image, ranks, deletionBase, counts, false),
    insertion: await curve(ctx, image, ranks, insertionBase, counts, true),
  };
}
