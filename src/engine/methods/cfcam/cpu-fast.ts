/**
 * CF-CAM for one image on the CPU fast path. Same steps and numerics as cpu.ts
 * (the CPU reference, the oracle), with the costly parts replaced:
 * - pairwise distances by the WebAssembly SIMD kernel (bit-identical float32, see distances.ts);
 * - the norm percentile and eps by radix selection instead of sorting (select.ts);
 * - DBSCAN on the thresholded neighbour edges instead of dense matrix scans (neighbours.ts);
 * - the bilinear resize separably, written straight into the batch's float32 map.
 * Everything after the labels is float64 in the reference's operation order.
 */
import { NoValidChannelsError } from '../../errors.js';
import type { CamInput, CamOptions, CamResult, CfcamDetails } from '../../types.js';
import {
  EPS_FLOOR,
  EPS_PERCENTILE,
  NORM_PERCENTILE,
  channelNormsF32,
  minSamplesFor,
  neighbourThresholdF32,
} from './cpu.js';
import { resolveCfcamOptions } from './options.js';
import { bilateralFilterOpenCv, referenceFilter } from './filters-cpu.js';
import { lerpNumpy, percentileRank } from './percentile.js';
import { pairCount, packedDistances, type PackedDistances } from './pairwise-cpu-fast.js';
import { dbscanEdges, thresholdEdges, thresholdEdgesIn } from './dbscan-cpu-fast.js';
import { selectRanks, selectRanksIn } from './select-cpu.js';
import { resizeBilinearInto } from '../common/resize-cpu-fast.js';
import { softmax } from '../common/softmax.js';
import type { SimdKernels } from '../../simd/kernels.js';

/** One image's CF-CAM details (the map is written into the caller's array). */
export interface CfcamImageDetails {
  labels: Int32Array;
  weights: Float64Array;
  eps: number;
  normThreshold: number;
  minSamples: number;
  clusters: number;
  important: number;
  noise: number;
}

/** Step 2 by selection: rank-based cut (as reference selectImportant) and numpy's threshold. */
function importantChannels(norms: Float32Array): { important: Uint8Array; threshold: number } {
  const { lo, hi, frac } = percentileRank(norms.length, NORM_PERCENTILE);
  const [low, high] = selectRanks(norms, [lo, hi]);
  const cut = frac === 0 ? low : high;
  const important = new Uint8Array(norms.length);
  for (let k = 0; k < norms.length; k++) important[k] = norms[k] >= cut ? 1 : 0;
  return { important, threshold: lerpNumpy(low, high, frac) };
}

/** Step 3 by selection: the percentile of the m(m-1) ordered pairs read off the packed upper triangle. */
function epsOf(kernels: SimdKernels | null, packed: PackedDistances, m: number): number {
  if (m < 2) return EPS_FLOOR;
  const { lo, hi, frac } = percentileRank(m * (m - 1), EPS_PERCENTILE);
  // Each unordered pair stands twice among the ordered ones: rank r of those is rank r/2 of the triangle.
  const ranks = [lo >> 1, hi >> 1];
  const [low, high] =
    kernels && packed.offset !== null ? selectRanksIn(kernels, packed.offset, pairCount(m), ranks) : selectRanks(packed.values, ranks);
  return Math.max(lerpNumpy(low, high, frac), EPS_FLOOR);
}

/**
 * CF-CAM of one image: A, G are [C, H, W]; the normalised outH x outW map goes into `mapOut`.
 * `kernels` null runs the TypeScript distance loop instead of the SIMD kernel.
 */
export function cfcamImageFast(
  kernels: SimdKernels | null,
  A: Float32Array,
  G: Float32Array,
  C: number,
  H: number,
  W: number,
  outH: number,
  outW: number,
  options: CamOptions,
  mapOut: Float32Array,
): CfcamImageDetails {
  const { mode, bilateral } = resolveCfcamOptions(options);
  const HW = H * W;
  const { important, threshold } = importantChannels(channelNormsF32(A, C, HW));
  let m = 0;
  for (let k = 0; k < C; k++) if (!important[k]) m++;
  const remaining = new Int32Array(m);
  for (let k = 0, r = 0; k < C; k++) if (!important[k]) remaining[r++] = k;

  const labels = new Int32Array(C).fill(-2);
  const minSamples = minSamplesFor(m);
  let eps = EPS_FLOOR;
  let clusters = 0;
  if (m > 0) {
    const packed = packedDistances(kernels, A, remaining, HW);
    eps = epsOf(kernels, packed, m);
    const threshold32 = neighbourThresholdF32(eps);
    const edges =
      kernels && packed.offset !== null ? thresholdEdgesIn(kernels, packed.offset, m, threshold32) : thresholdEdges(packed.values, m, threshold32);
    const db = dbscanEdges(edges, m, minSamples);
    clusters = db.clusters;
    for (let i = 0; i < m; i++) labels[remaining[i]] = db.labels[i];
  }
  const importantCount = C - m;
  if (importantCount === 0 && clusters === 0) {
    throw new NoValidChannelsError('CF-CAM found no important channel and no cluster: every channel is noise, so there is no map');
  }

  // Steps 5-7: important channels weigh their mean gradient, clusters their filtered mean gradient.
  const weights = new Float64Array(C);
  const valid = new Uint8Array(C);
  const clusterMeans = new Float64Array(clusters * HW);
  const clusterSizes = new Int32Array(clusters);
  let noise = 0;
  for (let k = 0; k < C; k++) {
    const label = labels[k];
    const base = k * HW;
    if (label === -2) {
      let s = 0;
      for (let p = 0; p < HW; p++) s += G[base + p];
      weights[k] = s / HW;
      valid[k] = 1;
    } else if (label >= 0) {
      const o = label * HW;
      for (let p = 0; p < HW; p++) clusterMeans[o + p] += G[base + p];
      clusterSizes[label]++;
      valid[k] = 1;
    } else {
      noise++;
    }
  }
  const clusterWeights = new Float64Array(clusters);
  for (let j = 0; j < clusters; j++) {
    const mean = clusterMeans.subarray(j * HW, (j + 1) * HW);
    for (let p = 0; p < HW; p++) mean[p] /= clusterSizes[j];
    const filtered = mode === 'reference' ? referenceFilter(mean, H, W) : bilateralFilterOpenCv(mean, H, W, bilateral);
    let s = 0;
    for (let p = 0; p < HW; p++) s += filtered[p];
    clusterWeights[j] = s / HW;
  }
  for (let k = 0; k < C; k++) if (labels[k] >= 0) weights[k] = clusterWeights[labels[k]];

  combineInto(A, weights, valid, H, W, outH, outW, mapOut);
  return { labels, weights, eps, normThreshold: threshold, minSamples, clusters, important: importantCount, noise };
}

/** Steps 8-11: softmax over the valid weights, ReLU(sum alpha_k A_k), upsample, divide by the max. */
function combineInto(
  A: Float32Array,
  weights: Float64Array,
  valid: Uint8Array,
  H: number,
  W: number,
  outH: number,
  outW: number,
  mapOut: Float32Array,
): void {
  const HW = H * W;
  const C = weights.length;
  const alpha = softmax(weights, { keep: valid });
  const cam = new Float64Array(HW);
  for (let k = 0; k < C; k++) {
    if (!valid[k]) continue;
    const a = alpha[k];
    const base = k * HW;
    for (let p = 0; p < HW; p++) cam[p] += a * A[base + p];
  }
  for (let p = 0; p < HW; p++) if (cam[p] < 0) cam[p] = 0;
  const up = resizeBilinearInto(cam, H, W, outH, outW, new Float64Array(outH * outW));
  let max = 0;
  for (let i = 0; i < up.length; i++) if (up[i] > max) max = up[i];
  if (max > 0) for (let i = 0; i < up.length; i++) mapOut[i] = up[i] / max;
  else mapOut.set(up);
}

/** CF-CAM for every image of the batch on the fast path (inputs validated), with the per-image details. */
export function cfcamCpuFast(input: CamInput, options: CamOptions, kernels: SimdKernels | null): CamResult {
  const { batch: B, channels: C, height: H, width: W, outHeight, outWidth } = input.shape;
  const imageSize = C * H * W;
  const mapSize = outHeight * outWidth;
  const maps = new Float32Array(B * mapSize);
  const details: CfcamDetails = {
    labels: new Int32Array(B * C),
    weights: new Float32Array(B * C),
    eps: new Float32Array(B),
    normThreshold: new Float32Array(B),
    minSamples: new Int32Array(B),
    clusters: new Int32Array(B),
    important: new Int32Array(B),
    noise: new Int32Array(B),
  };
  const gradients = input.gradients!;
  for (let b = 0; b < B; b++) {
    const view = (data: Float32Array) => data.subarray(b * imageSize, (b + 1) * imageSize);
    const map = maps.subarray(b * mapSize, (b + 1) * mapSize);
    const r = cfcamImageFast(kernels, view(input.activations), view(gradients), C, H, W, outHeight, outWidth, options, map);
    details.labels.set(r.labels, b * C);
    details.weights.set(r.weights, b * C);
    details.eps[b] = r.eps;
    details.normThreshold[b] = r.normThreshold;
    details.minSamples[b] = r.minSamples;
    details.clusters[b] = r.clusters;
    details.important[b] = r.important;
    details.noise[b] = r.noise;
  }
  return { shape: { ...input.shape }, maps, cfcam: details };
}
