/**
 * pytorch-grad-cam's confidence-change metric (CamMultImageConfidenceChange): the normalised
 * input multiplied by the map, scored; change = p(x * map) - p(x). DropInConfidence is
 * max(0, -change), IncreaseInConfidence whether change > 0.
 */
import { scoreAll, type MetricContext, type MetricImage } from './types.js';

export interface ConfidenceChangeResult {
  probability: number;
  change: number;
  dropInConfidence: number;
  increaseInConfidence: boolean;
}

export async function confidenceChange(ctx: MetricContext, image: MetricImage, map: Float32Array, baseProbability: number): Promise<ConfidenceChangeResult> {
  const plane = image.height * image.width;
  // Soft blend over a zero base: 0 + map * (x - 0) = x * map exactly.
  const copy = await ctx.perturber.perturb(image.input, new Float32Array(3 * plane), map, new Float32Array(1), 'soft', image);
  const [p] = await scoreAll(ctx, copy, 1, plane, image.classIndex);
  const change = p - baseProbability;
  return { probability: p, change, dropInConfidence: Math.max(0, -change), increaseInConfidence: change > 0 };
}
