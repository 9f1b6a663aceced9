/**
 * Grad-CAM family on the CPU, following pytorch-grad-cam v1.5.x (gradcam-family.md).
 *
 * Each method reduces one image's activations A and gradients g ([C,H,W], row-major) to a raw
 * H x W map; every method then shares the library's post-processing
 * minmax(resize(minmax(ReLU(map)))) with minmax(x) = (x - min) / (max - min + 1e-7).
 * Arithmetic is float64 (the library uses float32; the gap is ~1e-6 on the normalised map).
 */
import { resizeBilinear } from '../common/resize-cpu.js';

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

/** In place: x -> max(x, 0). */
export function reluInPlace(values: Float64Array): Float64Array {
  for (let i = 0; i < values.length; i++) if (values[i] < 0) values[i] = 0;
  return values;
}

/** In place: x -> (x - min) / (max - min + 1e-7), pytorch-grad-cam's scale_cam_image. */
export function minmaxInPlace(values: Float64Array): Float64Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const scale = 1 / (max - min + 1e-7);
  for (let i = 0; i < values.length; i++) values[i] = (values[i] - min) * scale;
  return values;
}

/**
 * pytorch-grad-cam's post-processing: ReLU, min-max, bilinear resize (cv2.resize INTER_LINEAR),
 * and min-max again (the layer-aggregation step re-normalises even for one layer, and it
 * matters because bilinear resizing can lower the maximum).
 */
export function gradcamPostprocess(raw: Float64Array, H: number, W: number, outH: number, outW: number): Float64Array {
  const scaled = minmaxInPlace(reluInPlace(Float64Array.from(raw)));
  return minmaxInPlace(resizeBilinear(scaled, H, W, outH, outW));
}

/** Final normalised [outH, outW] map of a gradient method for one image. */
export function gradientFamilyMap(method: GradientMethod, t: ImageTensors, outH: number, outW: number): Float64Array {
  return gradcamPostprocess(gradientRawMap(method, t), t.height, t.width, outH, outW);
}
