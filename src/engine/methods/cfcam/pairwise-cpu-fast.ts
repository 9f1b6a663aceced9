/**
 * Pairwise Euclidean distances of the remaining channels (CF-CAM step 3) as the packed strict
 * upper triangle: pair (i, j), i < j, at i*(2m-i-1)/2 + (j-i-1). The WebAssembly SIMD kernel
 * computes four pairs per f32x4 vector; without SIMD the same float32 arithmetic runs in
 * TypeScript. Both are bit-identical to cpu.ts's pairwiseDistancesF32.
 */
import type { SimdKernels } from '../../simd/kernels.js';

const f32 = Math.fround;

/** Number of unordered pairs of m points. */
export function pairCount(m: number): number {
  return (m * (m - 1)) / 2;
}

/** Packed distances; `offset` is their byte offset in the kernels' memory (null: a plain array). */
export interface PackedDistances {
  values: Float32Array;
  offset: number | null;
}

/**
 * Distances between channels `channels` of A ([C, HW]). With kernels, the result is a view
 * into their memory, valid until their next allocation (which may grow it).
 */
export function packedDistances(kernels: SimdKernels | null, A: Float32Array, channels: Int32Array, HW: number): PackedDistances {
  const m = channels.length;
  const pairs = pairCount(m);
  if (!kernels) return { values: packedDistancesTs(A, channels, HW), offset: null };
  kernels.reset();
  const at = kernels.allocFloats(HW * m);
  const out = kernels.allocFloats(pairs);
  // Pixel-major copy: the kernel loads four neighbouring channels of one pixel per vector.
  const columns = kernels.floats(at, HW * m);
  for (let r = 0; r < m; r++) {
    const base = channels[r] * HW;
    for (let p = 0; p < HW; p++) columns[p * m + r] = A[base + p];
  }
  kernels.pairwiseUpper(at, m, m, HW, out);
  return { values: kernels.floats(out, pairs), offset: out };
}

/** The same distances in TypeScript (float32 rounding after every operation, pixels in order). */
export function packedDistancesTs(A: Float32Array, channels: Int32Array, HW: number): Float32Array {
  const m = channels.length;
  const out = new Float32Array(pairCount(m));
  let k = 0;
  for (let i = 0; i < m; i++) {
    const bi = channels[i] * HW;
    for (let j = i + 1; j < m; j++) {
      const bj = channels[j] * HW;
      let s = 0;
      for (let p = 0; p < HW; p++) {
        const d = f32(A[bi + p] - A[bj + p]);
        s = f32(s + f32(d * d));
      }
      out[k++] = Math.sqrt(s);
    }
  }
  return out;
}
