/** Seeded test data: the project's one PRNG (mulberry32, src/engine/util/prng.ts, re-exported by src/demo/bench-data.ts). */
import { mulberry32 } from '../../src/demo/bench-data';

export { mulberry32 as prng };

/** A standard normal sample (Box-Muller). */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Fisher-Yates shuffle of a copy, driven by `rand`. */
export function shuffle<T>(items: T[], rand: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A random opaque RGBA image (ImageData layout), reproducible from `seed`. */
export function randomImage(width: number, height: number, seed: number): { width: number; height: number; data: Uint8Array } {
  const rand = mulberry32(seed);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : Math.floor(rand() * 256);
  return { width, height, data };
}
