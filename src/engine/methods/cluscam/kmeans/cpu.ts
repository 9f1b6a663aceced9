/**
 * K-Means (K-Means++ seeding + Lloyd iterations) in plain TypeScript: ClusCAM's clustering
 * (cluscam.md, step 4) and the CPU twin of the GPU driver in ../methods/kmeans.ts. Both follow
 * this definition step by step, with the same float32 operations in the same order, so that
 * they agree on seeds and assignments and (to rounding of the divisions) on centroids.
 *
 * Points: N rows of D float32 values, row-major. K clusters, 1 <= K <= N.
 *
 * Squared distance ||p - c||^2, float32 throughout: D is cut into chunks of KMEANS_CHUNK
 * values; each chunk's sum of (p_d - c_d)^2 is accumulated sequentially in increasing d, and
 * the chunk sums are then added sequentially in increasing chunk order (the GPU computes the
 * chunks in parallel and adds them the same way).
 *
 * Draws: init number r (0-based) uses the PRNG stream mulberry32(streamSeed(seed, r))
 * (./prng.ts); its first K 24-bit draws u_0..u_{K-1} (float32-exact) are generated on the
 * CPU and handed to the GPU.
 *
 * K-Means++ seeding:
 * - first seed s_0 = floor(u_0 * N) (exact, computed on the CPU);
 * - for j = 1..K-1: D2(i) = squared distance of point i to its nearest seed among
 *   s_0..s_{j-1} (a float32 min over the distances); S = float32 sum of D2(0..N-1) in index
 *   order; if S > 0: t = float32(u_j * S), s_j = the smallest i whose inclusive float32 prefix
 *   sum (same order, the same partial sums as S) is > t; if no prefix exceeds t, the largest
 *   i with D2(i) > 0 (a safety net: with 24-bit draws t < S for every finite S > 0, so only an
 *   overflowed S = Infinity gets there). If S == 0 (or not a number), s_j = the lowest-index
 *   point not chosen yet (chosen points have D2 = 0, so they are never picked while S > 0).
 * - with `seedPoints`, the seeds are those indices instead and only one init runs.
 * Centroids start as copies of the seed points.
 *
 * Lloyd:
 * - assign: each point to its nearest centroid (strictly smaller distance wins, so ties go
 *   to the lowest index); A_0 is the assignment to the seeds;
 * - iteration i = 1, 2, ..., maxIterations: update every cluster with members to the mean of
 *   its members (float32 sum over members in increasing point index, divided by the member
 *   count; a cluster without members keeps its centroid), then assign again (A_i); stop when
 *   A_i == A_{i-1}. `iterations` is the number of updates done (0 when maxIterations is 0).
 *   The assignments returned are always the nearest-centroid assignment to the centroids
 *   returned.
 * - inertia: the sum (float64) of each point's float32 squared distance to its assigned
 *   centroid.
 * With inits > 1, the init with the lowest inertia is kept (ties: the earliest).
 */
import { InvalidOptionError, ShapeMismatchError } from '../../../errors.js';
import { mulberry32Stream, streamSeed } from '../../../util/prng.js';

/** Distances are summed in chunks of this many coordinates (see the definition above); a multiple of 4 (the GPU reads vec4s). */
export const KMEANS_CHUNK = 1024;

export interface KMeansOptions {
  /** K, the number of clusters: 1 <= K <= number of points. */
  clusters: number;
  /** Seeds the PRNG of K-Means++ (any safe integer). */
  seed: number;
  /** Number of K-Means++ initialisations (>= 1); the lowest inertia wins. */
  inits: number;
  /** Maximum number of Lloyd updates (>= 0). */
  maxIterations: number;
  /** Explicit initial centroids: K distinct point indices (then one init runs). */
  seedPoints?: readonly number[];
}

export interface KMeansResult {
  /** [K, D] float32. */
  centroids: Float32Array;
  /** [N] cluster of each point. */
  assignments: Int32Array;
  /** [K] the seed point indices of the kept init. */
  seedPoints: Int32Array;
  /** Lloyd updates done by the kept init. */
  iterations: number;
  /** Sum of squared distances of the points to their assigned centroids. */
  inertia: number;
}

/** Options checked and normalised (shared by the CPU twin and the GPU driver). */
export interface KMeansPlan {
  clusters: number;
  inits: number;
  maxIterations: number;
  seedPoints?: Int32Array;
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Validate the problem and the options; throws InvalidOptionError / ShapeMismatchError. */
export function planKMeans(count: number, dims: number, options: KMeansOptions): KMeansPlan {
  if (!isNonNegativeInteger(count) || count < 1) {
    throw new ShapeMismatchError(`k-means needs at least one point (got ${count}); pass a positive integer count`);
  }
  if (!isNonNegativeInteger(dims) || dims < 1) {
    throw new ShapeMismatchError(`k-means points need at least one dimension (got ${dims}); pass a positive integer dims`);
  }
  const { clusters, seed, inits, maxIterations, seedPoints } = options;
  if (!isNonNegativeInteger(clusters) || clusters < 1) {
    throw new InvalidOptionError(`k-means clusters must be an integer >= 1 (got ${clusters})`);
  }
  if (clusters > count) {
    throw new InvalidOptionError(`k-means clusters (${clusters}) must not exceed the number of points (${count}); use fewer clusters`);
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new InvalidOptionError(`k-means seed must be an integer (got ${seed})`);
  }
  if (!isNonNegativeInteger(inits) || inits < 1) {
    throw new InvalidOptionError(`k-means inits must be an integer >= 1 (got ${inits})`);
  }
  if (!isNonNegativeInteger(maxIterations)) {
    throw new InvalidOptionError(`k-means maxIterations must be an integer >= 0 (got ${maxIterations})`);
  }
  if (seedPoints === undefined) return { clusters, inits, maxIterations };
  if (seedPoints.length !== clusters) {
    throw new InvalidOptionError(`k-means seedPoints has ${seedPoints.length} indices but clusters is ${clusters}; give one point index per cluster`);
  }
  const seen = new Set<number>();
  for (const index of seedPoints) {
    if (!isNonNegativeInteger(index) || index >= count) {
      throw new InvalidOptionError(`k-means seedPoints index ${index} is not a point index in [0, ${count - 1}]`);
    }
    if (seen.has(index)) {
      throw new InvalidOptionError(`k-means seedPoints lists point ${index} twice; the initial centroids must be distinct points`);
    }
    seen.add(index);
  }
  return { clusters, inits: 1, maxIterations, seedPoints: Int32Array.from(seedPoints) };
}

/**
 * The draws of init `init`: u_0..u_{K-1} (float32-exact) and the first seed floor(u_0 * N).
 */
export function kmeansDraws(seed: number, init: number, clusters: number, count: number): { draws: Float32Array<ArrayBuffer>; first: number } {
  const stream = mulberry32Stream(streamSeed(seed, init));
  const draws = new Float32Array(clusters);
  for (let j = 0; j < clusters; j++) draws[j] = stream.nextFloat24();
  return { draws, first: Math.min(count - 1, Math.floor(draws[0] * count)) };
}

/** ||a - b||^2 in float32, chunked as in the definition. */
export function squaredDistanceF32(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dims: number): number {
  const f = Math.fround;
  let total = 0;
  for (let start = 0; start < dims; start += KMEANS_CHUNK) {
    const end = Math.min(start + KMEANS_CHUNK, dims);
    let part = 0;
    for (let d = start; d < end; d++) {
      const diff = f(a[aOffset + d] - b[bOffset + d]);
      part = f(part + f(diff * diff));
    }
    total = f(total + part);
  }
  return total;
}

/** K-Means++ seed indices (see the definition). */
export function kmeansPlusPlusSeeds(points: Float32Array, count: number, dims: number, clusters: number, draws: Float32Array, first: number): Int32Array {
  const f = Math.fround;
  const seeds = new Int32Array(clusters);
  const chosen = new Uint8Array(count);
  const d2 = new Float32Array(count);
  seeds[0] = first;
  for (let j = 0; j + 1 < clusters; j++) {
    const s = seeds[j];
    chosen[s] = 1;
    for (let i = 0; i < count; i++) {
      const d = squaredDistanceF32(points, i * dims, points, s * dims, dims);
      d2[i] = j === 0 ? d : Math.min(d2[i], d);
    }
    let total = 0;
    for (let i = 0; i < count; i++) total = f(total + d2[i]);
    let pick = -1;
    if (total > 0) {
      const threshold = f(draws[j + 1] * total);
      let run = 0;
      let last = -1;
      for (let i = 0; i < count; i++) {
        run = f(run + d2[i]);
        if (d2[i] > 0) last = i;
        if (run > threshold) {
          pick = i;
          break;
        }
      }
      if (pick < 0) pick = last;
    } else {
      pick = chosen.indexOf(0);
    }
    seeds[j + 1] = pick;
  }
  return seeds;
}

/** Nearest centroid of every point (ties: lowest index); returns whether anything changed. */
function assign(
  points: Float32Array,
  centroids: Float32Array,
  count: number,
  dims: number,
  clusters: number,
  assignments: Int32Array,
  distances: Float32Array,
): boolean {
  let changed = false;
  for (let p = 0; p < count; p++) {
    let best = 0;
    let bestDistance = squaredDistanceF32(points, p * dims, centroids, 0, dims);
    for (let k = 1; k < clusters; k++) {
      const d = squaredDistanceF32(points, p * dims, centroids, k * dims, dims);
      if (d < bestDistance) {
        best = k;
        bestDistance = d;
      }
    }
    if (assignments[p] !== best) changed = true;
    assignments[p] = best;
    distances[p] = bestDistance;
  }
  return changed;
}

/** Means of the clusters with members (float32 sums in point order); empty ones keep theirs. */
function updateCentroids(points: Float32Array, centroids: Float32Array, count: number, dims: number, clusters: number, assignments: Int32Array): void {
  const f = Math.fround;
  const members: number[][] = Array.from({ length: clusters }, () => []);
  for (let p = 0; p < count; p++) members[assignments[p]].push(p);
  const sums = new Float32Array(dims);
  for (let k = 0; k < clusters; k++) {
    const list = members[k];
    if (list.length === 0) continue;
    sums.fill(0);
    for (const p of list) {
      const row = p * dims;
      for (let d = 0; d < dims; d++) sums[d] = f(sums[d] + points[row + d]);
    }
    const n = list.length;
    for (let d = 0; d < dims; d++) centroids[k * dims + d] = f(sums[d] / n);
  }
}

/** Lloyd from the given seeds (one init). */
function lloydCpu(points: Float32Array, count: number, dims: number, seeds: Int32Array, maxIterations: number): KMeansResult {
  const clusters = seeds.length;
  const centroids = new Float32Array(clusters * dims);
  for (let k = 0; k < clusters; k++) centroids.set(points.subarray(seeds[k] * dims, (seeds[k] + 1) * dims), k * dims);
  const assignments = new Int32Array(count).fill(-1);
  const distances = new Float32Array(count);
  assign(points, centroids, count, dims, clusters, assignments, distances);
  let iterations = 0;
  while (iterations < maxIterations) {
    updateCentroids(points, centroids, count, dims, clusters, assignments);
    iterations++;
    if (!assign(points, centroids, count, dims, clusters, assignments, distances)) break;
  }
  let inertia = 0;
  for (let p = 0; p < count; p++) inertia += distances[p];
  return { centroids, assignments, seedPoints: seeds, iterations, inertia };
}

/** K-Means (K-Means++ + Lloyd, best of `inits`) on the CPU; see the definition at the top. */
export function kmeansCpu(points: Float32Array, count: number, dims: number, options: KMeansOptions): KMeansResult {
  const plan = planKMeans(count, dims, options);
  if (points.length < count * dims) {
    throw new ShapeMismatchError(`k-means points hold ${points.length} values, fewer than ${count} x ${dims}`);
  }
  let best: KMeansResult | undefined;
  for (let init = 0; init < plan.inits; init++) {
    let seeds = plan.seedPoints;
    if (!seeds) {
      const { draws, first } = kmeansDraws(options.seed, init, plan.clusters, count);
      seeds = kmeansPlusPlusSeeds(points, count, dims, plan.clusters, draws, first);
    }
    const result = lloydCpu(points, count, dims, seeds, plan.maxIterations);
    if (!best || result.inertia < best.inertia) best = result;
  }
  return best!;
}
