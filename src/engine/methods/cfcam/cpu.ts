/**
 * CF-CAM on the CPU for one image, steps 1-11 of cfcam.md, modes 'reference' and 'bilateral'.
 *
 * Numerics chosen to agree with both the reference (`cfcam.py`: numpy float32 + scikit-learn)
 * and our GPU kernels:
 * - channel norms and the pairwise distances are computed in emulated float32 (Math.fround after
 *   every operation) with a sequential sum over the H*W positions, which is exactly what the GPU
 *   does, so CPU and GPU agree on labels even for pairs sitting next to eps;
 * - "important" is decided by rank rather than by comparing with a rounded threshold, which
 *   reproduces numpy's float64 comparison `n >= percentile(n, 75)` exactly;
 * - everything after clustering (weights, softmax, map) is float64, well inside the tolerances
 *   (weights 1e-5 absolute, map 1e-4).
 */
import { NoValidChannelsError } from '../../errors.js';
import type { BilateralParams, CamInput, CamOptions, CamResult, CfcamDetails, CfcamMode } from '../../types.js';
import { resolveCfcamOptions } from './options.js';
import { dbscan } from './dbscan-cpu.js';
import { bilateralFilterOpenCv, referenceFilter } from './filters-cpu.js';
import { lerpNumpy, pairwisePercentile, percentileRank } from './percentile.js';
import { resizeBilinear } from '../common/resize-cpu.js';
import { softmax } from '../common/softmax.js';

const f32 = Math.fround;

/** Percentile of the channel norms above which channels are "important" (step 2). */
export const NORM_PERCENTILE = 75;
/** Percentile of the pairwise distances that sets DBSCAN's eps (step 3). */
export const EPS_PERCENTILE = 25;
/** Lower bound of eps (step 3); also eps when fewer than two channels remain. */
export const EPS_FLOOR = 1e-5;

/** One image's CF-CAM outcome; `map` is [outH, outW] in [0,1]. */
export interface CfcamImageResult {
  map: Float64Array;
  /** Per channel: -2 important, -1 noise, k cluster id. */
  labels: Int32Array;
  /** Per channel pre-softmax weight, 0 for noise. */
  weights: Float64Array;
  eps: number;
  normThreshold: number;
  minSamples: number;
  clusters: number;
  important: number;
  noise: number;
}

/** Step 1: ||A_k||_2 per channel, float32 arithmetic, sequential sum over positions. */
export function channelNormsF32(A: ArrayLike<number>, C: number, HW: number): Float32Array {
  const norms = new Float32Array(C);
  for (let k = 0; k < C; k++) {
    let s = 0;
    for (let p = 0; p < HW; p++) {
      const a = A[k * HW + p];
      s = f32(s + f32(a * a));
    }
    norms[k] = Math.sqrt(s);
  }
  return norms;
}

/**
 * Step 2: important channels. With the norms sorted into s and numpy's linear percentile at
 * rank v = (C-1)*0.75 = lo + frac, the threshold t lies strictly between s[lo] and s[hi] when
 * frac > 0 (both float32, so the float64 lerp cannot round onto either), hence
 * n >= t  <=>  n >= s[hi]; and t = s[lo] when frac = 0. Deciding on s[lo]/s[hi] avoids any
 * rounding of t. The reported threshold is numpy's float64 value.
 */
export function selectImportant(norms: Float32Array): { important: Uint8Array; threshold: number } {
  const sorted = Float64Array.from(norms).sort();
  const { lo, hi, frac } = percentileRank(norms.length, NORM_PERCENTILE);
  const cut = frac === 0 ? sorted[lo] : sorted[hi];
  const important = new Uint8Array(norms.length);
  for (let k = 0; k < norms.length; k++) important[k] = norms[k] >= cut ? 1 : 0;
  return { important, threshold: lerpNumpy(sorted[lo], sorted[hi], frac) };
}

/**
 * Step 3 input: Euclidean distances between the given channels, as a row-major m x m float32
 * matrix (diagonal 0). float32 arithmetic, sequential over positions: diff, square, add, sqrt
 * each rounded to float32, the same operation order as the GPU kernel.
 */
export function pairwiseDistancesF32(A: ArrayLike<number>, channels: ArrayLike<number>, HW: number): Float32Array {
  const m = channels.length;
  const dist = new Float32Array(m * m);
  for (let i = 0; i < m; i++) {
    const bi = channels[i] * HW;
    for (let j = i + 1; j < m; j++) {
      const bj = channels[j] * HW;
      let s = 0;
      for (let p = 0; p < HW; p++) {
        const d = f32(A[bi + p] - A[bj + p]);
        s = f32(s + f32(d * d));
      }
      const d = Math.sqrt(s);
      dist[i * m + j] = d;
      dist[j * m + i] = d;
    }
  }
  return dist;
}

/**
 * Step 3: eps = max(25th percentile of the m*(m-1) ordered off-diagonal distances, 1e-5).
 * With m < 2 there is no pair; the reference would fail (numpy's percentile of an empty
 * array), we use eps = 1e-5 so that DBSCAN still runs (a lone channel is then noise, since
 * min_samples >= 2).
 */
export function computeEps(dist: ArrayLike<number>, m: number): number {
  if (m < 2) return EPS_FLOOR;
  return Math.max(pairwisePercentile(dist, m, EPS_PERCENTILE), EPS_FLOOR);
}

/**
 * The neighbour test `d <= eps` with float32 distances and the float64 eps, as one float32
 * threshold: the largest float32 not above eps. No float32 lies in (threshold, eps], so
 * `d <= threshold` decides exactly as `d <= eps`. (Plain Math.fround(eps) may round up onto
 * the next distance above the percentile, which happens on the resnet50-layer3 golden case,
 * and would wrongly admit that pair.) A GPU kernel comparing in float32 should use this value.
 */
export function neighbourThresholdF32(eps: number): number {
  const f = Math.fround(eps);
  if (f <= eps) return f;
  // Step one float32 down (eps > 0 here, so f > 0 and its bit pattern decrements).
  const bits = new Uint32Array(Float32Array.of(f).buffer);
  bits[0] -= 1;
  return new Float32Array(bits.buffer)[0];
}

/** Step 4: DBSCAN's min_samples = max(2, int(0.05*m)) as in the reference. */
export function minSamplesFor(m: number): number {
  return Math.max(2, Math.floor(m * 0.05));
}

/** Mean over positions of an HW-long slice. */
function meanOf(values: ArrayLike<number>, start = 0, length = values.length): number {
  let s = 0;
  for (let p = 0; p < length; p++) s += values[start + p];
  return s / length;
}

/** Step 5: one cluster's mean gradient, filtered per the mode, reduced to the cluster's weight. */
function clusterWeight(
  G: ArrayLike<number>,
  members: number[],
  H: number,
  W: number,
  mode: CfcamMode,
  bilateral: BilateralParams,
): number {
  const HW = H * W;
  const mean = new Float64Array(HW);
  for (const k of members) for (let p = 0; p < HW; p++) mean[p] += G[k * HW + p];
  for (let p = 0; p < HW; p++) mean[p] /= members.length;
  const filtered = mode === 'reference' ? referenceFilter(mean, H, W) : bilateralFilterOpenCv(mean, H, W, bilateral);
  return meanOf(filtered);
}

/** Steps 8-11: softmax over the valid weights, ReLU(sum alpha_k A_k), upsample, divide by the max. */
function combine(
  A: ArrayLike<number>,
  weights: Float64Array,
  valid: Uint8Array,
  H: number,
  W: number,
  outH: number,
  outW: number,
): Float64Array {
  const HW = H * W;
  const alpha = softmax(weights, { keep: valid });
  const cam = new Float64Array(HW);
  for (let k = 0; k < weights.length; k++) {
    if (!valid[k]) continue;
    const a = alpha[k];
    for (let p = 0; p < HW; p++) cam[p] += a * A[k * HW + p];
  }
  for (let p = 0; p < HW; p++) if (cam[p] < 0) cam[p] = 0;
  const up = resizeBilinear(cam, H, W, outH, outW);
  let max = 0;
  for (const v of up) max = Math.max(max, v);
  if (max > 0) for (let i = 0; i < up.length; i++) up[i] /= max;
  return up;
}

/** CF-CAM for one image: A, G are [C,H,W] views; the map comes out at outH x outW. */
export function cfcamImage(
  A: ArrayLike<number>,
  G: ArrayLike<number>,
  C: number,
  H: number,
  W: number,
  outH: number,
  outW: number,
  options: CamOptions = {},
): CfcamImageResult {
  const { mode, bilateral } = resolveCfcamOptions(options);
  const HW = H * W;

  // Steps 1-2: norms and important channels.
  const { important, threshold } = selectImportant(channelNormsF32(A, C, HW));
  const remaining: number[] = [];
  for (let k = 0; k < C; k++) if (!important[k]) remaining.push(k);
  const m = remaining.length;

  // Steps 3-4: eps from the pairwise distances, then DBSCAN over the remaining channels.
  // With no remaining channel (m = 0) there is nothing to cluster: eps is reported as its
  // floor 1e-5 and min_samples as max(2, 0) = 2, and no DBSCAN runs.
  const labels = new Int32Array(C).fill(-2);
  const minSamples = minSamplesFor(m);
  let eps = EPS_FLOOR;
  let clusters = 0;
  if (m > 0) {
    const dist = pairwiseDistancesF32(A, remaining, HW);
    eps = computeEps(dist, m);
    const db = dbscan(dist, m, neighbourThresholdF32(eps), minSamples);
    clusters = db.clusters;
    for (let i = 0; i < m; i++) labels[remaining[i]] = db.labels[i];
  }
  const importantCount = C - m;
  if (importantCount === 0 && clusters === 0) {
    throw new NoValidChannelsError('CF-CAM found no important channel and no cluster: every channel is noise, so there is no map');
  }

  // Steps 5-7: weights (important: raw gradient mean; clustered: filtered cluster-mean gradient; noise dropped).
  const weights = new Float64Array(C);
  const valid = new Uint8Array(C);
  const members: number[][] = Array.from({ length: clusters }, () => []);
  let noise = 0;
  for (let k = 0; k < C; k++) {
    const label = labels[k];
    if (label === -2) {
      weights[k] = meanOf(G, k * HW, HW);
      valid[k] = 1;
    } else if (label >= 0) {
      members[label].push(k);
      valid[k] = 1;
    } else {
      noise++;
    }
  }
  for (let j = 0; j < clusters; j++) {
    const w = clusterWeight(G, members[j], H, W, mode, bilateral);
    for (const k of members[j]) weights[k] = w;
  }

  const map = combine(A, weights, valid, H, W, outH, outW);
  return { map, labels, weights, eps, normThreshold: threshold, minSamples, clusters, important: importantCount, noise };
}

/** CF-CAM for every image of the batch (inputs validated), with the per-image details. */
export function cfcamCpu(input: CamInput, options: CamOptions = {}): CamResult {
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
    const r = cfcamImage(view(input.activations), view(gradients), C, H, W, outHeight, outWidth, options);
    maps.set(r.map, b * mapSize);
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
