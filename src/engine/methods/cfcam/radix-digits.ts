/**
 * The digits of the eps radix select (radix-select.ts), from the top bit down: three passes
 * of 11, 11 and 10 bits over the float32 bit patterns of the distances instead of four of 8
 * (one pass over the C x C matrix fewer), and the first one is counted by the distance kernel
 * itself (pairwise-distance.ts), so only two passes read the matrix.
 */
export const RADIX_DIGITS = [
  { shift: 21, bits: 11 },
  { shift: 10, bits: 11 },
  { shift: 0, bits: 10 },
] as const;

/** Bins per sought rank in the histogram buffer: enough for the widest digit. */
export const RADIX_BINS = 2048;

/** u32 words of histogram per image: two sought ranks. */
export const HISTOGRAM_WORDS_PER_IMAGE = 2 * RADIX_BINS;
