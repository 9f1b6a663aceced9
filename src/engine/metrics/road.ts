/**
 * ROAD, RemOve And Debias (Rong et al. 2022), as pytorch-grad-cam defines it: at percentile q
 * the pixels whose key is >= numpy.percentile(key, q) are removed and filled by noisy linear
 * imputation (imputation.ts); the score is p(imputed) - p(image) for the class. Most relevant
 * first (MoRF) uses the map as the key, so percentile 80 removes the top 20% of the map; least
 * relevant first (LeRF) uses 1 - map. Averaged over the percentiles (default 10, 20, ..., 90):
 * a faithful map has a strongly negative MoRF and a LeRF near 0;
 * combined = (LeRF - MoRF) / 2 (ROADCombined), higher is better.
 */
import { noisyLinearImpute, type ImputationOptions } from './imputation.js';
import { percentile } from './ranking.js';
import { scoreAll, type MetricContext, type MetricImage } from './types.js';

export const ROAD_PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90] as const;

export interface RoadOptions extends ImputationOptions {
  percentiles?: readonly number[];
}

export interface RoadResult {
  percentiles: number[];
  /** p(imputed) - p(image) per percentile. */
  morf: number[];
  lerf: number[];
  morfMean: number;
  lerfMean: number;
  combined: number;
}

/** The removal mask of one ROAD perturbation: key >= percentile(key, q). */
export function roadRemoved(map: Float32Array, q: number, mostRelevantFirst: boolean): Uint8Array {
  const key = mostRelevantFirst ? map : Float32Array.from(map, (v) => 1 - v);
  const threshold = percentile(key, q);
  return Uint8Array.from(key, (v) => (v < threshold ? 0 : 1));
}

export async function road(ctx: MetricContext, image: MetricImage, map: Float32Array, baseProbability: number, options: RoadOptions = {}): Promise<RoadResult> {
  const percentiles = [...(options.percentiles ?? ROAD_PERCENTILES)];
  const plane = image.height * image.width;
  const copies = new Float32Array(2 * percentiles.length * 3 * plane);
  let j = 0;
  const undefinedAt: number[] = [];
  for (const morf of [true, false]) {
    for (const q of percentiles) {
      // One noise stream per perturbation, so adding a percentile does not shift the others.
      const seed = (options.seed ?? 0) * 1000 + j;
      const removed = roadRemoved(map, q, morf);
      // A constant map (or one constant above the percentile) removes every pixel: nothing is
      // left to impute from and the perturbation is undefined (NaN, left out of the means).
      if (removed.every((r) => r === 1)) undefinedAt.push(j);
      else copies.set(noisyLinearImpute(image.input, removed, image, { ...options, seed }), j * 3 * plane);
      j++;
    }
  }
  const scores = await scoreAll(ctx, copies, j, plane, image.classIndex);
  for (const k of undefinedAt) scores[k] = NaN;
  const morf = Array.from(scores.subarray(0, percentiles.length), (s) => s - baseProbability);
  const lerf = Array.from(scores.subarray(percentiles.length), (s) => s - baseProbability);
  const mean = (v: number[]) => {
    const ok = v.filter(Number.isFinite);
    return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
  };
  return { percentiles, morf, lerf, morfMean: mean(morf), lerfMean: mean(lerf), combined: (mean(lerf) - mean(morf)) / 2 };
}
