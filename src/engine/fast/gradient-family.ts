/**
 * Grad-CAM, Grad-CAM++, XGrad-CAM, LayerCAM and HiResCAM on the CPU fast path: the formulas of
 * reference/gradient-family.ts with each channel's weight and its share of the map computed in
 * one pass over the channel (while it is in cache), monomorphic float32 input loops and no
 * per-image allocations. Per-element operations and their order are the reference's, so the
 * maps agree with it to the last float64 bit before the final float32 rounding.
 */
import type { GradientMethod } from '../reference/gradient-family.js';
import { gradcamPostprocessInto } from './postprocess.js';
import { zeroedScratch } from './scratch.js';

/** The raw H x W map of a gradient method (a scratch array, valid until the next image). */
export function gradientRawMapFast(method: GradientMethod, A: Float32Array, G: Float32Array, C: number, HW: number): Float64Array {
  const map = zeroedScratch('gradient.map', HW);
  for (let k = 0; k < C; k++) {
    const base = k * HW;
    let w = 0;
    if (method === 'gradcam') {
      let s = 0;
      for (let p = 0; p < HW; p++) s += G[base + p];
      w = s / HW;
    } else if (method === 'gradcampp') {
      let sumA = 0;
      for (let p = 0; p < HW; p++) sumA += A[base + p];
      let s = 0;
      for (let p = 0; p < HW; p++) {
        const g = G[base + p];
        if (g <= 0) continue;
        const g2 = g * g;
        s += (g * g2) / (2 * g2 + sumA * g2 * g + 1e-6);
      }
      w = s;
    } else if (method === 'xgradcam') {
      let sumA = 0;
      let sumGA = 0;
      for (let p = 0; p < HW; p++) {
        const a = A[base + p];
        sumA += a;
        sumGA += G[base + p] * a;
      }
      w = sumGA / (sumA + 1e-7);
    } else if (method === 'layercam') {
      for (let p = 0; p < HW; p++) {
        const g = G[base + p];
        map[p] += (g > 0 ? g : 0) * A[base + p];
      }
      continue;
    } else {
      for (let p = 0; p < HW; p++) map[p] += G[base + p] * A[base + p];
      continue;
    }
    if (w === 0) continue;
    for (let p = 0; p < HW; p++) map[p] += w * A[base + p];
  }
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
