/**
 * Average Drop and Average Increase, as CF-CAM's evaluation code (metrics/ad.py, ai.py)
 * defines them; the per-image values are averaged over images by the caller.
 *
 * - Drop: keep the pixels where the map (at the input size) is > 0.5, set the others to black
 *   in the un-normalised image, re-normalise: O. Y is the class probability of the image.
 *   drop = (Y - O) / Y * 100 (signed, as ad.py; Grad-CAM++'s variant clamps at 0: `dropClamped`).
 *   `increased`: whether O > Y (Grad-CAM++'s "increase in confidence", a share of images).
 * - Increase (ai.py): keep the pixels where the map is > 0.3 and put the constant tensor whose
 *   channels hold the ImageNet mean values (0.485, 0.456, 0.406, in normalised space, as ai.py
 *   does) elsewhere; increase = p(inserted) - p(that constant tensor).
 *
 * Masking black in uint8 and re-normalising equals selecting -mean/std in normalised space,
 * which is what the kernel does (the images here are at the model's input size already).
 */
import { constantImage, normalisedBlack, scoreAll, type MetricContext, type MetricImage } from './types.js';

export interface AverageDropResult {
  baseProbability: number;
  maskedProbability: number;
  drop: number;
  dropClamped: number;
  increased: boolean;
  /** ai.py's increase: p(map > 0.3 region over the mean tensor) - p(mean tensor). */
  increase: number;
  insertedProbability: number;
  baselineProbability: number;
}

export const AVERAGE_DROP_THRESHOLD = 0.5;
export const AVERAGE_INCREASE_THRESHOLD = 0.3;

export async function averageDrop(ctx: MetricContext, image: MetricImage, map: Float32Array, baseProbability: number): Promise<AverageDropResult> {
  const plane = image.height * image.width;
  const one = Float32Array.of(AVERAGE_DROP_THRESHOLD);
  const masked = await ctx.perturber.perturb(image.input, normalisedBlack(image), map, one, 'keepAbove', image);
  const meanTensor = constantImage(image.mean, plane);
  const inserted = await ctx.perturber.perturb(image.input, meanTensor, map, Float32Array.of(AVERAGE_INCREASE_THRESHOLD), 'keepAbove', image);
  const batch = new Float32Array(3 * 3 * plane);
  batch.set(masked, 0);
  batch.set(inserted, 3 * plane);
  batch.set(meanTensor, 6 * plane);
  const [o, ins, baseline] = await scoreAll(ctx, batch, 3, plane, image.classIndex);
  const y = baseProbability;
  const drop = ((y - o) / y) * 100;
  return {
    baseProbability: y,
    maskedProbability: o,
    drop,
    dropClamped: Math.max(0, drop),
    increased: o > y,
    increase: ins - baseline,
    insertedProbability: ins,
    baselineProbability: baseline,
  };
}
