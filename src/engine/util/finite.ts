/** Index of the first NaN or infinity in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** Largest absolute value of finite `data` (0 when empty). */
export function maxAbs(data: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < data.length; i++) largest = Math.max(largest, Math.abs(data[i]));
  return largest;
}

/** Input validation's whole-array scans; the CPU fast path passes WebAssembly SIMD ones (same answers). */
export interface ValueScans {
  /** Index of the first NaN or Inf, or -1. */
  firstNonFinite(data: Float32Array): number;
  /** Largest absolute value (of finite data). */
  maxAbs(data: Float32Array): number;
}

export const TYPESCRIPT_SCANS: ValueScans = { firstNonFinite, maxAbs };
