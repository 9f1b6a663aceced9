/** Post-processing on the CPU shared by several methods (the GPU twin is postprocess-gpu.ts). */
import { resizeBilinear } from './resize-cpu.js';

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
