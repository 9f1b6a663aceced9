/**
 * A small deterministic PRNG for the engine's randomised algorithms (K-Means++ seeding).
 * mulberry32 (Tommy Ettinger's 32-bit generator): one 32-bit state word, full period 2^32,
 * good enough statistics for sampling, and bit-identical on every JavaScript engine because it
 * uses only 32-bit integer operations (Math.imul, >>>).
 *
 * Draws handed to the GPU are 24-bit floats (`nextFloat24`): k / 2^24 with k in [0, 2^24), so
 * they are exactly representable in float32 and the GPU sees the same value the CPU uses.
 */

/** A stream of uniform draws. */
export interface Prng {
  /** The next 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number;
  /** The next draw in [0, 1) with 24 random bits: exact in float32. */
  nextFloat24(): number;
}

/** mulberry32 seeded with the low 32 bits of `seed`. */
export function mulberry32Stream(seed: number): Prng {
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    nextUint32,
    nextFloat24: () => (nextUint32() >>> 8) / 16777216,
  };
}

/**
 * Uniform draws in [0, 1) with 32 random bits (float64), from mulberry32 seeded with `seed`: for
 * generated test and benchmark data, where the values need not be exact in float32.
 */
export function mulberry32Floats(seed: number): () => number {
  const stream = mulberry32Stream(seed);
  return () => stream.nextUint32() / 4294967296;
}

/** murmur3's 32-bit finaliser: spreads every input bit over the whole word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The 32-bit state of stream `stream` for the user-facing `seed` (any safe integer; its low and
 * high 32-bit words both count). Different (seed, stream) pairs give unrelated streams.
 */
export function streamSeed(seed: number, stream: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let h = fmix32(lo ^ 0x9e3779b9);
  h = fmix32(h ^ Math.imul(hi + 0x7f4a7c15, 0x27d4eb2f));
  return fmix32(h ^ Math.imul((stream >>> 0) + 1, 0x165667b1));
}
