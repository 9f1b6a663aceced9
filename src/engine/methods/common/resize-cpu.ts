/**
 * Bilinear resize with align_corners = false.
 *
 * One definition serves both references: PyTorch `F.interpolate(mode='bilinear',
 * align_corners=False)` with an explicit output size, and OpenCV `cv2.resize` INTER_LINEAR on
 * float images. Both sample output pixel `dst` at source coordinate
 * `src = (dst + 0.5) * in/out - 0.5`, clamp negative coordinates to 0, and clamp the second tap
 * at the last pixel: x0 = floor(src), x1 = min(x0 + 1, in - 1), weight of x1 = src - x0.
 */

/** Per-axis sampling plan: for each output index, the two source taps and the weight of the second. */
export interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  frac: Float64Array;
}

/**
 * With `alignCorners` (PyTorch `align_corners=True`, `nn.UpsamplingBilinear2d`, which
 * pytorch-grad-cam's ScoreCAM uses for its masks) output d samples src = d * (in - 1) / (out - 1)
 * instead: the corner pixels of input and output coincide.
 */
export function bilinearTaps(inSize: number, outSize: number, alignCorners = false): AxisTaps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const src = alignCorners ? d * scale : Math.max((d + 0.5) * scale - 0.5, 0);
    // src <= in - 0.5 always, so floor(src) <= in - 1; the min only guards float surprises.
    const x0 = Math.min(Math.floor(src), inSize - 1);
    i0[d] = x0;
    i1[d] = Math.min(x0 + 1, inSize - 1);
    frac[d] = src - x0;
  }
  return { i0, i1, frac };
}

/** Resize a row-major inH x inW map to outH x outW (float64 arithmetic). Equal sizes give the input back (both conventions). */
export function resizeBilinear(src: ArrayLike<number>, inH: number, inW: number, outH: number, outW: number, alignCorners = false): Float64Array {
  const rows = bilinearTaps(inH, outH, alignCorners);
  const cols = bilinearTaps(inW, outW, alignCorners);
  const out = new Float64Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const r0 = rows.i0[y] * inW;
    const r1 = rows.i1[y] * inW;
    const fy = rows.frac[y];
    for (let x = 0; x < outW; x++) {
      const c0 = cols.i0[x];
      const c1 = cols.i1[x];
      const fx = cols.frac[x];
      const top = src[r0 + c0] + (src[r0 + c1] - src[r0 + c0]) * fx;
      const bottom = src[r1 + c0] + (src[r1 + c1] - src[r1 + c0]) * fx;
      out[y * outW + x] = top + (bottom - top) * fy;
    }
  }
  return out;
}
