/**
 * Bilinear resize (align_corners = false) done separably: each source row is interpolated
 * across once, then every output row is one blend of two such rows. The operands and their
 * order are those of resize-cpu.ts (top and bottom row values, then their blend), so the
 * float64 results are bit-identical, at about a third of the arithmetic.
 */
import { bilinearTaps, type AxisTaps } from './resize-cpu.js';

const tapCache = new Map<string, AxisTaps>();

/** Taps per (in, out) size, cached: the same sizes come back image after image. */
export function taps(inSize: number, outSize: number): AxisTaps {
  const key = `${inSize}:${outSize}`;
  let t = tapCache.get(key);
  if (!t) {
    t = bilinearTaps(inSize, outSize);
    tapCache.set(key, t);
  }
  return t;
}

/**
 * Resize row-major src (inH x inW) into out (outH x outW); `rows` is scratch of inH*outW.
 * With `range`, its [0] and [1] receive the output's min and max (saves a pass).
 */
export function resizeBilinearInto(
  src: Float64Array,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  out: Float64Array,
  rows: Float64Array = new Float64Array(inH * outW),
  range?: Float64Array,
): Float64Array {
  const rt = taps(inH, outH);
  const ct = taps(inW, outW);
  const { i0: c0s, i1: c1s, frac: fxs } = ct;
  for (let r = 0; r < inH; r++) {
    const base = r * inW;
    const row = r * outW;
    for (let x = 0; x < outW; x++) {
      const a = src[base + c0s[x]];
      rows[row + x] = a + (src[base + c1s[x]] - a) * fxs[x];
    }
  }
  let min = Infinity;
  let max = -Infinity;
  for (let y = 0; y < outH; y++) {
    const r0 = rt.i0[y] * outW;
    const r1 = rt.i1[y] * outW;
    const fy = rt.frac[y];
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      const top = rows[r0 + x];
      const v = top + (rows[r1 + x] - top) * fy;
      out[o + x] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (range) {
    range[0] = min;
    range[1] = max;
  }
  return out;
}
