/**
 * ClusCAM on the CPU (shared/spec/cluscam.md; nxhoang562/ClusCAM `ClusterScoreCAM`), per image:
 * 1. every channel upsampled bilinearly (align_corners = false) to the input size and min-max
 *    normalised, (u - min) / (max - min), a constant channel kept as it is: C points of
 *    dimension H*W (stored float32, as the GPU holds them);
 * 2. K-Means over those points (./kmeans.ts: K-Means++ seeding from `seed`, Lloyd iterations,
 *    `inits` initialisations keeping the lowest inertia; or the given `seedChannels`);
 *    the K centroids are the masks M_k;
 * 3. delta_k = f_c(x * M_k) - f_c(x), the masked inputs scored by the model in batches;
 * 4. the floor(r * K) clusters with the lowest delta are dropped (delta = -inf; on equal deltas
 *    the lower cluster index is dropped first), alpha = softmax(delta / tau);
 * 5. S = ReLU(sum_k alpha_k M_k), already at the input size, then min-max normalised as the
 *    other methods are, (S - min) / (max - min + 1e-7): a constant map gives zeros (the
 *    reference returns None there).
 */
import type { CamInput, CamOptions, CamResult, CluscamDetails } from '../../types.js';
import { kmeansOptionsOf, resolveCluscamOptions } from './options.js';
import { minmaxInPlace } from '../common/postprocess-cpu.js';
import { softmax } from '../common/softmax.js';
import { kmeansCpu, type KMeansResult } from './kmeans/cpu.js';
import { channelMask, DEFAULT_SCORE_BATCH, maskInputs, scoreMasked } from '../scored/masks-cpu.js';

/** 1 for the floor(r*K) clusters with the lowest logit change (ties: the lower index first). */
export function droppedClusters(deltas: ArrayLike<number>, dropRatio: number): Uint8Array {
  const K = deltas.length;
  const order = Array.from({ length: K }, (_, k) => k).sort((a, b) => deltas[a] - deltas[b] || a - b);
  const dropped = new Uint8Array(K);
  for (const k of order.slice(0, Math.floor(dropRatio * K))) dropped[k] = 1;
  return dropped;
}

/**
 * ClusCAM's cluster weights from the logit changes `deltas` [K]: the floor(r*K) lowest are
 * dropped (ties: the lower index first), alpha = softmax(delta / tau) over the rest, 0 for the
 * dropped ones (float64). Shared by the CPU reference and the GPU driver, which computes them on
 * the host: K numbers.
 */
export function cluscamAlphas(deltas: ArrayLike<number>, dropRatio: number, temperature: number): Float64Array {
  const kept = droppedClusters(deltas, dropRatio).map((d) => 1 - d);
  return softmax(deltas, { keep: kept, temperature });
}

/** Image b's entries of the batch details: its K-Means result, logit changes and weights. */
export function setCluscamImageDetails(
  details: CluscamDetails,
  b: number,
  km: Omit<KMeansResult, 'centroids'>,
  deltas: ArrayLike<number>,
  alphas: ArrayLike<number>,
): void {
  const K = km.seedPoints.length;
  details.seedChannels.set(km.seedPoints, b * K);
  details.assignments.set(km.assignments, b * km.assignments.length);
  details.deltas.set(deltas, b * K);
  details.alphas.set(alphas, b * K);
  details.iterations[b] = km.iterations;
  details.inertia[b] = km.inertia;
}

/** Empty per-batch details to fill image by image. */
export function newCluscamDetails(batch: number, channels: number, clusters: number): CluscamDetails {
  return {
    seedChannels: new Int32Array(batch * clusters),
    assignments: new Int32Array(batch * channels),
    deltas: new Float32Array(batch * clusters),
    alphas: new Float32Array(batch * clusters),
    iterations: new Int32Array(batch),
    inertia: new Float32Array(batch),
  };
}

/** ClusCAM for every image of the batch (inputs validated by validateCamInput). */
export async function cluscamCpu(input: CamInput, options: CamOptions = {}): Promise<CamResult> {
  const scorer = input.scorer!;
  const { batch: B, channels: C, height: h, width: w, outHeight: H, outWidth: W } = input.shape;
  const o = resolveCluscamOptions(options.cluscam, C);
  const K = o.clusters;
  const batchSize = options.scoreBatchSize ?? DEFAULT_SCORE_BATCH;
  const layer = h * w;
  const plane = H * W;
  const maps = new Float32Array(B * plane);
  const details = newCluscamDetails(B, C, K);
  for (let b = 0; b < B; b++) {
    const A = input.activations.subarray(b * C * layer, (b + 1) * C * layer);
    const x = scorer.inputs.subarray(b * 3 * plane, (b + 1) * 3 * plane);
    const points = new Float32Array(C * plane);
    for (let k = 0; k < C; k++) points.set(channelMask(A.subarray(k * layer, (k + 1) * layer), h, w, H, W, 'cluscam'), k * plane);
    const km = kmeansCpu(points, C, plane, kmeansOptionsOf(o));
    const centroid = (k: number) => km.centroids.subarray(k * plane, (k + 1) * plane);

    const deltas = new Float64Array(K);
    for (let first = 0; first < K; first += batchSize) {
      const count = Math.min(batchSize, K - first);
      const masks = Array.from({ length: count }, (_, j) => centroid(first + j));
      const logits = await scoreMasked(scorer, maskInputs(x, masks, plane), count, b, first);
      for (let j = 0; j < count; j++) deltas[first + j] = logits[j] - scorer.baseLogits[b];
    }
    const alphas = cluscamAlphas(deltas, o.dropRatio, o.temperature);
    const saliency = new Float64Array(plane);
    for (let k = 0; k < K; k++) {
      if (alphas[k] === 0) continue;
      const m = centroid(k);
      for (let p = 0; p < plane; p++) saliency[p] += alphas[k] * m[p];
    }
    for (let p = 0; p < plane; p++) if (saliency[p] < 0) saliency[p] = 0;
    maps.set(minmaxInPlace(saliency), b * plane);

    setCluscamImageDetails(details, b, km, deltas, alphas);
  }
  return { shape: { ...input.shape }, maps, cluscam: details };
}
