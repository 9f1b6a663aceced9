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
import { InvalidOptionError } from '../../errors.js';
import type { CamInput, CamOptions, CamResult, ClusCamDetails, ClusCamOptions } from '../../types.js';
import { minmaxInPlace } from '../gradient-family/cpu.js';
import { kmeansCpu, type KMeansOptions, type KMeansResult } from './kmeans/cpu.js';
import { channelMask, DEFAULT_SCORE_BATCH, maskInputs, scoreMasked } from '../scorecam/cpu.js';

/** ClusCAM's defaults (the reference's: K = 10, r = 0.5, tau = 0.5; K-Means with seed 0, one init, 300 iterations). */
/** Defaults; 3 K-Means++ initialisations (the spec keeps the lowest inertia of several; each costs about a second at 256 x 224 x 224 on SwiftShader). */
export const CLUSCAM_DEFAULTS = { clusters: 10, dropRatio: 0.5, temperature: 0.5, seed: 0, inits: 3, maxIterations: 300 } as const;

export interface ResolvedClusCamOptions {
  clusters: number;
  dropRatio: number;
  temperature: number;
  seed: number;
  inits: number;
  maxIterations: number;
  seedChannels?: readonly number[];
}

/** ClusCAM options with defaults filled in, checked against C channels (InvalidOptionError). */
export function resolveClusCamOptions(options: ClusCamOptions | undefined, channels: number): ResolvedClusCamOptions {
  const o = { ...CLUSCAM_DEFAULTS, ...options };
  const { clusters: K, dropRatio: r, temperature: tau, seed, inits, maxIterations } = o;
  if (!Number.isInteger(K) || K < 1 || K > channels) {
    throw new InvalidOptionError(`cluscam clusters must be an integer in 1..${channels} (the layer's channel count), got ${K}`);
  }
  if (!(typeof r === 'number' && r >= 0 && r < 1)) throw new InvalidOptionError(`cluscam dropRatio must be in [0, 1), got ${r}`);
  if (Math.floor(r * K) >= K) {
    throw new InvalidOptionError(`cluscam dropRatio ${r} drops all ${K} clusters; lower it so at least one cluster is kept`);
  }
  if (!(Number.isFinite(tau) && tau > 0)) throw new InvalidOptionError(`cluscam temperature must be a number > 0, got ${tau}`);
  if (!Number.isSafeInteger(seed)) throw new InvalidOptionError(`cluscam seed must be an integer, got ${seed}`);
  if (!Number.isInteger(inits) || inits < 1) throw new InvalidOptionError(`cluscam inits must be an integer >= 1, got ${inits}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw new InvalidOptionError(`cluscam maxIterations must be an integer >= 0, got ${maxIterations}`);
  }
  const seeds = o.seedChannels;
  if (seeds !== undefined) {
    if (seeds.length !== K) throw new InvalidOptionError(`cluscam seedChannels lists ${seeds.length} channels; give one per cluster (${K})`);
    const seen = new Set<number>();
    for (const c of seeds) {
      if (!Number.isInteger(c) || c < 0 || c >= channels) throw new InvalidOptionError(`cluscam seedChannels holds ${c}, not a channel in 0..${channels - 1}`);
      if (seen.has(c)) throw new InvalidOptionError(`cluscam seedChannels lists channel ${c} twice; the initial centroids must be distinct channels`);
      seen.add(c);
    }
  }
  return { clusters: K, dropRatio: r, temperature: tau, seed, inits, maxIterations, seedChannels: seeds };
}

export function kmeansOptionsOf(o: ResolvedClusCamOptions): KMeansOptions {
  return { clusters: o.clusters, seed: o.seed, inits: o.inits, maxIterations: o.maxIterations, seedPoints: o.seedChannels };
}

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
export function clusCamAlphas(deltas: ArrayLike<number>, dropRatio: number, temperature: number): Float64Array {
  const K = deltas.length;
  const dropped = droppedClusters(deltas, dropRatio);
  let high = -Infinity;
  for (let k = 0; k < K; k++) if (!dropped[k]) high = Math.max(high, deltas[k] / temperature);
  const alphas = new Float64Array(K);
  let total = 0;
  for (let k = 0; k < K; k++) if (!dropped[k]) total += alphas[k] = Math.exp(deltas[k] / temperature - high);
  for (let k = 0; k < K; k++) alphas[k] /= total;
  return alphas;
}

/** Image b's entries of the batch details: its K-Means result, logit changes and weights. */
export function setClusCamImageDetails(
  details: ClusCamDetails,
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
export function newClusCamDetails(batch: number, channels: number, clusters: number): ClusCamDetails {
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
export async function clusCamCpu(input: CamInput, options: CamOptions = {}): Promise<CamResult> {
  const scorer = input.scorer!;
  const { batch: B, channels: C, height: h, width: w, outHeight: H, outWidth: W } = input.shape;
  const o = resolveClusCamOptions(options.cluscam, C);
  const K = o.clusters;
  const batchSize = options.scoreBatchSize ?? DEFAULT_SCORE_BATCH;
  const layer = h * w;
  const plane = H * W;
  const maps = new Float32Array(B * plane);
  const details = newClusCamDetails(B, C, K);
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
    const alphas = clusCamAlphas(deltas, o.dropRatio, o.temperature);
    const saliency = new Float64Array(plane);
    for (let k = 0; k < K; k++) {
      if (alphas[k] === 0) continue;
      const m = centroid(k);
      for (let p = 0; p < plane; p++) saliency[p] += alphas[k] * m[p];
    }
    for (let p = 0; p < plane; p++) if (saliency[p] < 0) saliency[p] = 0;
    maps.set(minmaxInPlace(saliency), b * plane);

    setClusCamImageDetails(details, b, km, deltas, alphas);
  }
  return { shape: { ...input.shape }, maps, cluscam: details };
}
