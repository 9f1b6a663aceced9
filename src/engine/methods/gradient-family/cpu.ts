/**
 * Grad-CAM family on the CPU, following pytorch-grad-cam v1.5.x (gradcam-family.md).
 *
 * Each method reduces one image's activations A and gradients g ([C,H,W], row-major) to a raw
 * H x W map; every method then shares the library's post-processing
 * minmax(resize(minmax(ReLU(map)))) with minmax(x) = (x - min) / (max - min + 1e-7).
 * Arithmetic is float64 (the library uses float32; the gap is ~1e-6 on the normalised map).
 */
import { gradcamPostprocess } from '../common/postprocess-cpu.js';
import type { CamInput, CamResult } from '../../types.js';

export type GradientMethod = 'gradcam' | 'gradcampp' | 'xgradcam' | 'layercam' | 'hirescam';

/** One image's tensors: views of C*H*W values each. */
export interface ImageTensors {
  activations: ArrayLike<number>;
  gradients: ArrayLike<number>;
  channels: number;
  height: number;
  width: number;
}

/** map = sum_k w_k A_k. */
function weightedSum(A: ArrayLike<number>, weights: ArrayLike<number>, C: number, HW: number): Float64Array {
  const map = new Float64Array(HW);
  for (let k = 0; k < C; k++) {
    const w = weights[k];
    if (w === 0) continue;
    const base = k * HW;
    for (let p = 0; p < HW; p++) map[p] += w * A[base + p];
  }
  return map;
}

/** Grad-CAM: w_k = mean over positions of g_k. */
function gradcamWeights({ gradients: G, channels: C, height, width }: ImageTensors): Float64Array {
  const HW = height * width;
  const w = new Float64Array(C);
  for (let k = 0; k < C; k++) {
    let s = 0;
    for (let p = 0; p < HW; p++) s += G[k * HW + p];
    w[k] = s / HW;
  }
  return w;
}

/**
 * Grad-CAM++: a = g^2 / (2 g^2 + s_k g^3 + 1e-6) with s_k = sum A_k and a = 0 where g = 0;
 * w_k = sum ReLU(g) * a.
 */
function gradcamppWeights({ activations: A, gradients: G, channels: C, height, width }: ImageTensors): Float64Array {
  const HW = height * width;
  const w = new Float64Array(C);
  for (let k = 0; k < C; k++) {
    const base = k * HW;
    let sumA = 0;
    for (let p = 0; p < HW; p++) sumA += A[base + p];
    let s = 0;
    for (let p = 0; p < HW; p++) {
      const g = G[base + p];
      // ReLU(g) * a vanishes unless g > 0, which also covers the library's "a = 0 where g = 0".
      if (g <= 0) continue;
      const g2 = g * g;
      s += (g * g2) / (2 * g2 + sumA * g2 * g + 1e-6);
    }
    w[k] = s;
  }
  return w;
}

/** XGrad-CAM: w_k = sum g_k A_k / (sum A_k + 1e-7). */
function xgradcamWeights({ activations: A, gradients: G, channels: C, height, width }: ImageTensors): Float64Array {
  const HW = height * width;
  const w = new Float64Array(C);
  for (let k = 0; k < C; k++) {
    const base = k * HW;
    let sumA = 0;
    let sumGA = 0;
    for (let p = 0; p < HW; p++) {
      sumA += A[base + p];
      sumGA += G[base + p] * A[base + p];
    }
    w[k] = sumGA / (sumA + 1e-7);
  }
  return w;
}

/** Element-wise maps: LayerCAM sums ReLU(g) * A, HiResCAM sums g * A over channels. */
function elementwiseMap({ activations: A, gradients: G, channels: C, height, width }: ImageTensors, reluGradients: boolean): Float64Array {
  const HW = height * width;
  const map = new Float64Array(HW);
  for (let k = 0; k < C; k++) {
    const base = k * HW;
    for (let p = 0; p < HW; p++) {
      const g = G[base + p];
      map[p] += (reluGradients ? Math.max(g, 0) : g) * A[base + p];
    }
  }
  return map;
}

/** The raw (pre-post-processing) H x W map of a gradient method for one image. */
export function gradientRawMap(method: GradientMethod, t: ImageTensors): Float64Array {
  const HW = t.height * t.width;
  switch (method) {
    case 'gradcam':
      return weightedSum(t.activations, gradcamWeights(t), t.channels, HW);
    case 'gradcampp':
      return weightedSum(t.activations, gradcamppWeights(t), t.channels, HW);
    case 'xgradcam':
      return weightedSum(t.activations, xgradcamWeights(t), t.channels, HW);
    case 'layercam':
      return elementwiseMap(t, true);
    case 'hirescam':
      return elementwiseMap(t, false);
  }
}

/** Final normalised [outH, outW] map of a gradient method for one image. */
export function gradientFamilyMap(method: GradientMethod, t: ImageTensors, outH: number, outW: number): Float64Array {
  return gradcamPostprocess(gradientRawMap(method, t), t.height, t.width, outH, outW);
}

/** A gradient-family method for every image of the batch (inputs validated). */
export function gradientFamilyCpu(method: GradientMethod, input: CamInput): CamResult {
  const { batch: B, channels: C, height: H, width: W, outHeight, outWidth } = input.shape;
  const imageSize = C * H * W;
  const mapSize = outHeight * outWidth;
  const maps = new Float32Array(B * mapSize);
  const gradients = input.gradients!;
  for (let b = 0; b < B; b++) {
    const tensors: ImageTensors = {
      activations: input.activations.subarray(b * imageSize, (b + 1) * imageSize),
      gradients: gradients.subarray(b * imageSize, (b + 1) * imageSize),
      channels: C,
      height: H,
      width: W,
    };
    maps.set(gradientFamilyMap(method, tensors, outHeight, outWidth), b * mapSize);
  }
  return { shape: { ...input.shape }, maps };
}
