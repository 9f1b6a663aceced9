/** Seeded test data: the project's one PRNG (mulberry32, in src/demo/bench-data.ts). */
export { mulberry32 as prng } from '../../src/demo/bench-data';

/** A standard normal sample (Box-Muller). */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
