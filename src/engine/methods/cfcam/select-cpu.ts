/**
 * Order statistics by radix selection instead of a full sort (what the GPU's radix-select
 * kernel does): for non-negative float32 values the uint32 bit patterns sort exactly as the
 * values do, so two 16-bit histogram passes find the value at any rank in O(n).
 */

import type { SimdKernels } from '../../simd/kernels.js';

const BINS = 1 << 16;

/** Where rank r falls in a histogram: the bin and the rank inside it. */
function locate(hist: Uint32Array, rank: number): { bin: number; rest: number } {
  let below = 0;
  for (let bin = 0; bin < hist.length; bin++) {
    const count = hist[bin];
    if (rank < below + count) return { bin, rest: rank - below };
    below += count;
  }
  throw new RangeError(`rank ${rank} is outside the ${below} values`);
}

/**
 * The values at the given 0-based ranks of the ascending order of `values`, which must all be
 * >= 0 (or -0); negative values fall back to a sort. The input is left alone.
 */
export function selectRanks(values: Float32Array, ranks: readonly number[]): number[] {
  const n = values.length;
  for (const r of ranks) if (!(r >= 0 && r < n && Number.isInteger(r))) throw new RangeError(`rank ${r} is outside 0..${n - 1}`);
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  const high = new Uint32Array(BINS);
  for (let i = 0; i < n; i++) high[bits[i] >>> 16]++;
  // A set sign bit orders after every positive value: fold -0 into +0, sort anything negative.
  let signed = 0;
  for (let bin = 0x8000; bin < BINS; bin++) signed += high[bin];
  if (signed > 0) {
    const onlyNegativeZeros = signed === high[0x8000] && bits.every((b) => b >>> 16 !== 0x8000 || b === 0x80000000);
    if (onlyNegativeZeros) return selectRanks(Float32Array.from(values, (v) => (v === 0 ? 0 : v)), ranks);
    const sorted = Float32Array.from(values).sort();
    return ranks.map((r) => sorted[r]);
  }

  const targets = ranks.map((r) => locate(high, r));
  // One low-half histogram per distinct high bin (a percentile needs two ranks, one or two bins).
  const bins = [...new Set(targets.map((t) => t.bin))];
  const lows = bins.map(() => new Uint32Array(BINS));
  for (let start = 0; start < bins.length; start += 2) {
    const b0 = bins[start];
    const low0 = lows[start];
    const b1 = start + 1 < bins.length ? bins[start + 1] : -1;
    const low1 = start + 1 < bins.length ? lows[start + 1] : low0;
    for (let i = 0; i < n; i++) {
      const b = bits[i];
      const hb = b >>> 16;
      if (hb === b0) low0[b & 0xffff]++;
      else if (hb === b1) low1[b & 0xffff]++;
    }
  }
  const word = new Uint32Array(1);
  const asFloat = new Float32Array(word.buffer);
  return targets.map(({ bin, rest }) => {
    word[0] = ((bin << 16) | locate(lows[bins.indexOf(bin)], rest).bin) >>> 0;
    return asFloat[0];
  });
}

/**
 * selectRanks over n float32 at byte offset `ptr` of the kernels' memory, with the histogram
 * passes in WebAssembly (the scans are the cost: one to two passes over the values).
 */
export function selectRanksIn(kernels: SimdKernels, ptr: number, n: number, ranks: readonly number[]): number[] {
  for (const r of ranks) if (!(r >= 0 && r < n && Number.isInteger(r))) throw new RangeError(`rank ${r} is outside 0..${n - 1}`);
  const highAt = kernels.allocZeroed(BINS);
  kernels.histHigh16(ptr, n, highAt);
  let high = kernels.u32(highAt, BINS);
  let signed = 0;
  for (let bin = 0x8000; bin < BINS; bin++) signed += high[bin];
  if (signed > 0) return selectRanks(kernels.floats(ptr, n), ranks);
  const targets = ranks.map((r) => locate(high, r));
  const bins = [...new Set(targets.map((t) => t.bin))];
  const lowAt = bins.map(() => kernels.allocZeroed(BINS));
  for (let start = 0; start < bins.length; start += 2) {
    const two = start + 1 < bins.length;
    kernels.histLow16(ptr, n, bins[start], lowAt[start], two ? bins[start + 1] : -1, two ? lowAt[start + 1] : lowAt[start]);
  }
  high = kernels.u32(highAt, BINS);
  const word = new Uint32Array(1);
  const asFloat = new Float32Array(word.buffer);
  return targets.map(({ bin, rest }) => {
    word[0] = ((bin << 16) | locate(kernels.u32(lowAt[bins.indexOf(bin)], BINS), rest).bin) >>> 0;
    return asFloat[0];
  });
}
