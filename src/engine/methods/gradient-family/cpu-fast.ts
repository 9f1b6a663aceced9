/**
 * Grad-CAM, Grad-CAM++, XGrad-CAM, LayerCAM and HiResCAM on the CPU fast path: the formulas of
 * cpu.ts (the CPU reference) in float64, with the same per-element operations in the same
 * order (so the maps agree with the reference to the last float64 bit before the final
 * float32 rounding), restructured for the CPU:
 * - per-channel sums run four channels at a time, four independent addition chains instead
 *   of one latency-bound chain (each chain still adds its pixels in order);
 * - the map accumulates four channels per load/store of each pixel, in channel order;
 * - monomorphic float32 input loops and reused scratch arrays, no per-image allocation;
 * - with WebAssembly SIMD (gradientFamilySimd), the sums run in float64x2 lanes.
 */
import type { CamInput, CamResult } from '../../types.js';
import type { GradientMethod } from './cpu.js';
import { gradcamPostprocessInto, gradcamPostprocessSimd } from '../common/postprocess-cpu-fast.js';
import { scratch, zeroedScratch } from '../../util/scratch.js';
import type { SimdKernels } from '../../simd/kernels.js';

/** out[k] = sum over p of X[k*HW + p], pixels in order, four channels per pass. */
function channelSums(X: Float32Array, C: number, HW: number, out: Float64Array): void {
  let k = 0;
  for (; k + 4 <= C; k += 4) {
    const b0 = k * HW;
    const b1 = b0 + HW;
    const b2 = b1 + HW;
    const b3 = b2 + HW;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let p = 0; p < HW; p++) {
      s0 += X[b0 + p];
      s1 += X[b1 + p];
      s2 += X[b2 + p];
      s3 += X[b3 + p];
    }
    out[k] = s0;
    out[k + 1] = s1;
    out[k + 2] = s2;
    out[k + 3] = s3;
  }
  for (; k < C; k++) {
    let s = 0;
    for (let p = 0; p < HW; p++) s += X[k * HW + p];
    out[k] = s;
  }
}

/**
 * map[p] += w[k] * A[k*HW + p] for k in order, skipping w = 0 as the reference does; four
 * non-zero channels share each read-modify-write of map[p] (same additions, same order).
 */
function weightedSumInto(A: Float32Array, w: Float64Array, C: number, HW: number, map: Float64Array): void {
  let k = 0;
  const next = () => {
    while (k < C && w[k] === 0) k++;
    return k++;
  };
  for (;;) {
    const k0 = next();
    const k1 = next();
    const k2 = next();
    const k3 = next();
    if (k3 >= C) {
      for (const kk of [k0, k1, k2]) {
        if (kk >= C) break;
        const wk = w[kk];
        const base = kk * HW;
        for (let p = 0; p < HW; p++) map[p] += wk * A[base + p];
      }
      return;
    }
    const w0 = w[k0];
    const w1 = w[k1];
    const w2 = w[k2];
    const w3 = w[k3];
    const b0 = k0 * HW;
    const b1 = k1 * HW;
    const b2 = k2 * HW;
    const b3 = k3 * HW;
    for (let p = 0; p < HW; p++) map[p] = map[p] + w0 * A[b0 + p] + w1 * A[b1 + p] + w2 * A[b2 + p] + w3 * A[b3 + p];
  }
}

/** Per-channel weights of the weighted-sum methods (Grad-CAM, Grad-CAM++, XGrad-CAM). */
function channelWeights(method: 'gradcam' | 'gradcampp' | 'xgradcam', A: Float32Array, G: Float32Array, C: number, HW: number): Float64Array {
  if (method === 'gradcam') {
    const w = scratch('gradient.weights', C);
    channelSums(G, C, HW, w);
    for (let k = 0; k < C; k++) w[k] /= HW;
    return w;
  }
  const sumA = scratch('gradient.sumA', C);
  channelSums(A, C, HW, sumA);
  return otherWeights(method, A, G, C, HW, sumA);
}

/** LayerCAM (ReLU'd gradients) and HiResCAM: map[p] = sum over channels of g * A, in channel order. */
function elementwiseInto(A: Float32Array, G: Float32Array, C: number, HW: number, relu: boolean, map: Float64Array): void {
  for (let k = 0; k < C; k++) {
    const base = k * HW;
    if (relu) {
      for (let p = 0; p < HW; p++) {
        const g = G[base + p];
        map[p] += (g > 0 ? g : 0) * A[base + p];
      }
    } else {
      for (let p = 0; p < HW; p++) map[p] += G[base + p] * A[base + p];
    }
  }
}

/** The raw map of a gradient method (a scratch array, valid until the next image). */
export function gradientRawMapFast(method: GradientMethod, A: Float32Array, G: Float32Array, C: number, HW: number): Float64Array {
  const map = zeroedScratch('gradient.map', HW);
  if (method === 'layercam' || method === 'hirescam') elementwiseInto(A, G, C, HW, method === 'layercam', map);
  else weightedSumInto(A, channelWeights(method, A, G, C, HW), C, HW, map);
  return map;
}

/** One image's normalised outH x outW map into `out`. */
export function gradientFamilyInto(
  method: GradientMethod,
  A: Float32Array,
  G: Float32Array,
  C: number,
  H: number,
  W: number,
  outH: number,
  outW: number,
  out: Float32Array,
): void {
  gradcamPostprocessInto(gradientRawMapFast(method, A, G, C, H * W), H, W, outH, outW, out);
}

/**
 * gradientFamilyInto on the SIMD kernels: channel sums, the weighted or element-wise sum and
 * the post-processing in WebAssembly float64 lanes (bit-identical to the TypeScript path);
 * Grad-CAM++'s and XGrad-CAM's per-channel weight formulas stay in TypeScript.
 */
export function gradientFamilySimd(
  kernels: SimdKernels,
  method: GradientMethod,
  A: Float32Array,
  G: Float32Array,
  C: number,
  H: number,
  W: number,
  outH: number,
  outW: number,
  out: Float32Array,
): void {
  const HW = H * W;
  kernels.reset();
  const a = kernels.copyIn(A);
  const g = kernels.copyIn(G);
  const map = kernels.allocZeroedDoubles(HW);
  if (method === 'layercam' || method === 'hirescam') {
    kernels.elementwiseSum(a, g, C, HW, method === 'layercam', map);
  } else {
    const w = kernels.allocDoubles(C);
    if (method === 'gradcam') {
      kernels.channelSums(g, C, HW, w);
      const weights = kernels.doubles(w, C);
      for (let k = 0; k < C; k++) weights[k] /= HW;
    } else {
      const sumA = kernels.allocDoubles(C);
      kernels.channelSums(a, C, HW, sumA);
      if (method === 'gradcampp') {
        kernels.gradcamppWeights(g, sumA, C, HW, w);
      } else {
        // XGrad-CAM: w[k] = sum_p G A / (sum_p A + 1e-7), as otherWeights computes it.
        kernels.channelDots(a, g, C, HW, w);
        const weights = kernels.doubles(w, C);
        const sums = kernels.doubles(sumA, C);
        for (let k = 0; k < C; k++) weights[k] = weights[k] / (sums[k] + 1e-7);
      }
    }
    kernels.weightedSum(a, w, C, HW, map);
  }
  gradcamPostprocessSimd(kernels, map, H, W, outH, outW, out);
}

/** Grad-CAM++ / XGrad-CAM weights given the channel sums of A (TypeScript, reference formulas). */
function otherWeights(method: 'gradcampp' | 'xgradcam', A: Float32Array, G: Float32Array, C: number, HW: number, sumA: Float64Array): Float64Array {
  const w = scratch('gradient.weights', C);
  for (let k = 0; k < C; k++) {
    const base = k * HW;
    if (method === 'gradcampp') {
      const sa = sumA[k];
      let s = 0;
      for (let p = 0; p < HW; p++) {
        const g = G[base + p];
        if (g <= 0) continue;
        const g2 = g * g;
        s += (g * g2) / (2 * g2 + sa * g2 * g + 1e-6);
      }
      w[k] = s;
    } else {
      let sumGA = 0;
      for (let p = 0; p < HW; p++) sumGA += G[base + p] * A[base + p];
      w[k] = sumGA / (sumA[k] + 1e-7);
    }
  }
  return w;
}

/** A gradient method for every image of the batch on the fast path (inputs validated). */
export function gradientFamilyCpuFast(method: GradientMethod, input: CamInput, kernels: SimdKernels | null): CamResult {
  const { batch: B, channels: C, height: H, width: W, outHeight, outWidth } = input.shape;
  const imageSize = C * H * W;
  const mapSize = outHeight * outWidth;
  const maps = new Float32Array(B * mapSize);
  for (let b = 0; b < B; b++) {
    const A = input.activations.subarray(b * imageSize, (b + 1) * imageSize);
    const G = input.gradients!.subarray(b * imageSize, (b + 1) * imageSize);
    const out = maps.subarray(b * mapSize, (b + 1) * mapSize);
    if (kernels) gradientFamilySimd(kernels, method, A, G, C, H, W, outHeight, outWidth, out);
    else gradientFamilyInto(method, A, G, C, H, W, outHeight, outWidth, out);
  }
  return { shape: { ...input.shape }, maps };
}
