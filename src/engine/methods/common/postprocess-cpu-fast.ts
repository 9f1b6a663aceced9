/**
 * pytorch-grad-cam's post-processing, minmax(resize(minmax(ReLU(raw)))), shared by the Grad-CAM
 * family and Eigen-CAM on the fast path: the same operations as postprocess-cpu.ts's
 * gradcamPostprocess in the same order (bit-identical float64), fused into two passes over the
 * output and written straight into the batch's float32 map.
 */
import { resizeBilinearInto, taps } from './resize-cpu-fast.js';
import { scratch } from '../../util/scratch.js';
import type { SimdKernels } from '../../simd/kernels.js';

/** In place on H*W values: ReLU, then pytorch-grad-cam's min-max scaling. */
function reluMinmax(raw: Float64Array, HW: number): void {
  let min = Infinity;
  let max = -Infinity;
  for (let p = 0; p < HW; p++) {
    const v = raw[p] < 0 ? 0 : raw[p];
    raw[p] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = 1 / (max - min + 1e-7);
  for (let p = 0; p < HW; p++) raw[p] = (raw[p] - min) * scale;
}

/**
 * gradcamPostprocessInto with the raw map (H*W float64) at byte offset `raw` of the kernels'
 * memory: the row pass in TypeScript (H rows), the outH*outW passes in WebAssembly.
 */
export function gradcamPostprocessSimd(kernels: SimdKernels, raw: number, H: number, W: number, outH: number, outW: number, out: Float32Array): void {
  reluMinmax(kernels.doubles(raw, H * W), H * W);
  const rt = taps(H, outH);
  const ct = taps(W, outW);
  const rowsAt = kernels.allocDoubles(H * outW);
  const i0At = kernels.allocFloats(outH);
  const i1At = kernels.allocFloats(outH);
  const fyAt = kernels.allocDoubles(outH);
  const upAt = kernels.allocDoubles(outH * outW);
  const rangeAt = kernels.allocDoubles(2);
  const outAt = kernels.allocFloats(outH * outW);
  const src = kernels.doubles(raw, H * W);
  const rows = kernels.doubles(rowsAt, H * outW);
  for (let r = 0; r < H; r++) {
    for (let x = 0; x < outW; x++) {
      const a = src[r * W + ct.i0[x]];
      rows[r * outW + x] = a + (src[r * W + ct.i1[x]] - a) * ct.frac[x];
    }
  }
  kernels.i32(i0At, outH).set(rt.i0);
  kernels.i32(i1At, outH).set(rt.i1);
  kernels.doubles(fyAt, outH).set(rt.frac);
  kernels.resizeVertical(rowsAt, i0At, i1At, fyAt, outH, outW, upAt, rangeAt);
  const [min, max] = kernels.doubles(rangeAt, 2);
  kernels.affineToF32(upAt, outH * outW, min, 1 / (max - min + 1e-7), outAt);
  out.set(kernels.floats(outAt, outH * outW));
}

/** `raw` (H x W, overwritten) -> normalised outH x outW map in `out`. */
export function gradcamPostprocessInto(raw: Float64Array, H: number, W: number, outH: number, outW: number, out: Float32Array): void {
  reluMinmax(raw, H * W);
  const range = scratch('postprocess.range', 2);
  const up = resizeBilinearInto(raw, H, W, outH, outW, scratch('postprocess.up', outH * outW), scratch('postprocess.rows', H * outW), range);
  const min = range[0];
  const max = range[1];
  const scale = 1 / (max - min + 1e-7);
  for (let i = 0; i < up.length; i++) out[i] = (up[i] - min) * scale;
}
