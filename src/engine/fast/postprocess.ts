/**
 * pytorch-grad-cam's post-processing, minmax(resize(minmax(ReLU(raw)))), shared by the Grad-CAM
 * family and Eigen-CAM on the fast path: the same operations as reference/gradient-family.ts's
 * gradcamPostprocess in the same order (bit-identical float64), fused into two passes over the
 * output and written straight into the batch's float32 map.
 */
import { resizeBilinearInto } from './resize.js';
import { scratch } from './scratch.js';

/** `raw` (H x W, overwritten) -> normalised outH x outW map in `out`. */
export function gradcamPostprocessInto(raw: Float64Array, H: number, W: number, outH: number, outW: number, out: Float32Array): void {
  const HW = H * W;
  let min = Infinity;
  let max = -Infinity;
  for (let p = 0; p < HW; p++) {
    const v = raw[p] < 0 ? 0 : raw[p];
    raw[p] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let scale = 1 / (max - min + 1e-7);
  for (let p = 0; p < HW; p++) raw[p] = (raw[p] - min) * scale;
  const up = resizeBilinearInto(raw, H, W, outH, outW, scratch('postprocess.up', outH * outW), scratch('postprocess.rows', H * outW));
  min = Infinity;
  max = -Infinity;
  for (let i = 0; i < up.length; i++) {
    const v = up[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  scale = 1 / (max - min + 1e-7);
  for (let i = 0; i < up.length; i++) out[i] = (up[i] - min) * scale;
}
