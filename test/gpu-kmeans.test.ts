/**
 * K-Means (K-Means++ + Lloyd) on the GPU against its CPU twin (src/engine/methods/cluscam/kmeans/cpu.ts),
 * and the CPU twin against float64 oracles written here. Real Dawn device (SwiftShader without
 * a GPU): problems stay small except one ClusCAM-sized run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from './helpers/gpu';
import { gaussian, prng } from './helpers/random';
import { Recorder, STORAGE_USAGE } from '../src/engine/gpu/recorder';
import { writeFloats } from '../src/engine/gpu/upload';
import { InvalidOptionError, ShapeMismatchError } from '../src/engine/errors';
import {
  KMEANS_CHUNK,
  kmeansCpu,
  kmeansDraws,
  kmeansPlusPlusSeeds,
  squaredDistanceF32,
  type KMeansOptions,
  type KMeansResult,
} from '../src/engine/methods/cluscam/kmeans/cpu';
import { mulberry32Stream, streamSeed } from '../src/engine/util/prng';
import { kmeansGpu, type KMeansGpuResult } from '../src/engine/methods/cluscam/kmeans/gpu';

// ---------------------------------------------------------------------------------------------
// Data

interface Blobs {
  points: Float32Array;
  /** True blob of each point. */
  labels: Int32Array;
}

/**
 * `count` points of `dims` values around `groups` random centres in [0,1]^D (Gaussian noise of
 * `noise` per coordinate): centres are ~0.4 sqrt(D) apart, blobs ~noise sqrt(D) wide.
 */
function blobs(count: number, dims: number, groups: number, noise: number, seed: number): Blobs {
  const rand = prng(seed);
  const centres = Float32Array.from({ length: groups * dims }, () => rand());
  const points = new Float32Array(count * dims);
  const labels = new Int32Array(count);
  for (let p = 0; p < count; p++) {
    const g = Math.floor(rand() * groups);
    labels[p] = g;
    for (let d = 0; d < dims; d++) points[p * dims + d] = centres[g * dims + d] + noise * gaussian(rand);
  }
  return { points, labels };
}

/** Uniform random points in [0,1]^D (no cluster structure: Lloyd needs many iterations). */
function uniformCloud(count: number, dims: number, seed: number): Float32Array {
  const rand = prng(seed);
  return Float32Array.from({ length: count * dims }, () => rand());
}

// ---------------------------------------------------------------------------------------------
// GPU plumbing

const owned: GPUBuffer[] = [];
afterAll(() => {
  for (const b of owned) b.destroy();
});

async function upload(data: Float32Array): Promise<GPUBuffer> {
  const ctx = await testGpu();
  const buffer = ctx.device.createBuffer({ size: Math.max(16, data.byteLength), usage: STORAGE_USAGE });
  writeFloats(ctx.device, buffer, data);
  owned.push(buffer);
  return buffer;
}

async function readFloats(buffer: GPUBuffer, count: number): Promise<Float32Array> {
  const ctx = await testGpu();
  const rec = new Recorder(ctx, { label: 'k-means test readback' });
  const index = rec.read(buffer, count * 4);
  const { readbacks } = await rec.submit();
  return new Float32Array(readbacks[index]);
}

interface GpuRun extends KMeansResult {
  raw: KMeansGpuResult;
}

/** kmeansGpu on a fresh upload, with the centroids read back and released. */
async function runGpu(points: Float32Array, count: number, dims: number, options: KMeansOptions): Promise<GpuRun> {
  const ctx = await testGpu();
  const buffer = await upload(points);
  const raw = await kmeansGpu(ctx, buffer, count, dims, options);
  try {
    expect(raw.centroids.size).toBe(raw.seedPoints.length * dims * 4);
    const centroids = await readFloats(raw.centroids, raw.seedPoints.length * dims);
    return { ...raw, centroids, raw };
  } finally {
    raw.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function expectSameClustering(gpu: KMeansResult, cpu: KMeansResult): void {
  expect(Array.from(gpu.seedPoints)).toEqual(Array.from(cpu.seedPoints));
  expect(Array.from(gpu.assignments)).toEqual(Array.from(cpu.assignments));
  expect(gpu.iterations).toBe(cpu.iterations);
  expect(maxAbsDiff(gpu.centroids, cpu.centroids)).toBeLessThanOrEqual(1e-5);
  expect(Math.abs(gpu.inertia - cpu.inertia)).toBeLessThanOrEqual(1e-4 * Math.max(cpu.inertia, 1e-12));
}

// ---------------------------------------------------------------------------------------------
// Float64 oracles for the CPU twin

/** Checks that `result` is a Lloyd fixed point or stopped state consistent with the definition. */
function expectConsistent(points: Float32Array, count: number, dims: number, result: KMeansResult, converged: boolean): void {
  const K = result.seedPoints.length;
  const dist64 = (p: number, k: number) => {
    let s = 0;
    for (let d = 0; d < dims; d++) s += (points[p * dims + d] - result.centroids[k * dims + d]) ** 2;
    return s;
  };
  let inertia = 0;
  for (let p = 0; p < count; p++) {
    const own = dist64(p, result.assignments[p]);
    inertia += own;
    for (let k = 0; k < K; k++) expect(own).toBeLessThanOrEqual(dist64(p, k) * (1 + 1e-5) + 1e-9);
  }
  expect(result.inertia).toBeCloseTo(inertia, 3);
  if (converged) {
    // At a fixed point every non-empty cluster's centroid is the mean of its members.
    for (let k = 0; k < K; k++) {
      const members = [...result.assignments.keys()].filter((p) => result.assignments[p] === k);
      if (members.length === 0) continue;
      for (let d = 0; d < dims; d++) {
        const mean = members.reduce((s, p) => s + points[p * dims + d], 0) / members.length;
        expect(Math.abs(result.centroids[k * dims + d] - mean)).toBeLessThanOrEqual(1e-5);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('K-Means CPU twin', () => {
  it('PRNG: mulberry32 draws are reproducible, 24-bit, and streams differ by seed and init', () => {
    const a = mulberry32Stream(streamSeed(7, 0));
    const b = mulberry32Stream(streamSeed(7, 0));
    const c = mulberry32Stream(streamSeed(7, 1));
    const d = mulberry32Stream(streamSeed(8, 0));
    const xs = Array.from({ length: 64 }, () => a.nextFloat24());
    expect(Array.from({ length: 64 }, () => b.nextFloat24())).toEqual(xs);
    expect(Array.from({ length: 64 }, () => c.nextFloat24())).not.toEqual(xs);
    expect(Array.from({ length: 64 }, () => d.nextFloat24())).not.toEqual(xs);
    for (const x of xs) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      expect(Math.fround(x)).toBe(x);
      expect(Number.isInteger(x * 2 ** 24)).toBe(true);
    }
    // Known-answer value of the stream (pins the definition).
    expect(mulberry32Stream(0).nextUint32()).toBe(1144304738);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.65);
  });

  it('chunked float32 distance equals the float64 distance to float32 precision', () => {
    const rand = prng(3);
    const dims = 2 * KMEANS_CHUNK + 77;
    const a = Float32Array.from({ length: dims }, () => rand());
    const b = Float32Array.from({ length: dims }, () => rand());
    let exact = 0;
    for (let d = 0; d < dims; d++) exact += (a[d] - b[d]) ** 2;
    const got = squaredDistanceF32(a, 0, b, 0, dims);
    expect(Math.fround(got)).toBe(got);
    expect(Math.abs(got - exact) / exact).toBeLessThan(1e-5);
    expect(squaredDistanceF32(a, 0, a, 0, dims)).toBe(0);
  });

  it('finds the true blobs and is a Lloyd fixed point', () => {
    const N = 90;
    const D = 12;
    const { points, labels } = blobs(N, D, 4, 0.03, 11);
    const result = kmeansCpu(points, N, D, { clusters: 4, seed: 0, inits: 1, maxIterations: 50 });
    expectConsistent(points, N, D, result, true);
    // The clustering is the true one up to renaming.
    const rename = new Map<number, number>();
    for (let p = 0; p < N; p++) {
      const k = result.assignments[p];
      if (!rename.has(labels[p])) rename.set(labels[p], k);
      expect(rename.get(labels[p])).toBe(k);
    }
    expect(new Set(rename.values()).size).toBe(4);
  });

  it('K-Means++ puts the seeds of well-separated blobs in different blobs', () => {
    const N = 120;
    const D = 8;
    const { points, labels } = blobs(N, D, 5, 0.01, 5);
    for (let seed = 0; seed < 20; seed++) {
      const { seedPoints } = kmeansCpu(points, N, D, { clusters: 5, seed, inits: 1, maxIterations: 0 });
      expect(new Set(Array.from(seedPoints, (s) => labels[s])).size).toBe(5);
    }
  });

  it('K-Means++ follows the prefix-sum rule on a hand-checked example', () => {
    // 1-D points 0, 1, 3, 10 (D2 to seed 0 = [0, 1, 9, 100], sum 110).
    const points = Float32Array.from([0, 1, 3, 10]);
    const draws = Float32Array.from([0, 0.0, 0]);
    // u = 0: the first i with prefix > 0 is point 1.
    expect(Array.from(kmeansPlusPlusSeeds(points, 4, 1, 2, draws, 0))).toEqual([0, 1]);
    // u = 0.5: threshold 55; prefixes 0, 1, 10, 110 -> point 3.
    expect(Array.from(kmeansPlusPlusSeeds(points, 4, 1, 2, Float32Array.from([0, 0.5]), 0))).toEqual([0, 3]);
    // u = 9.5/110: threshold 9.5 -> point 2 (prefix 10).
    expect(Array.from(kmeansPlusPlusSeeds(points, 4, 1, 2, Float32Array.from([0, 9.5 / 110]), 0))).toEqual([0, 2]);
    // All points equal: sum(D2) = 0 -> the lowest-index points not chosen yet.
    expect(Array.from(kmeansPlusPlusSeeds(new Float32Array(4), 4, 1, 4, Float32Array.from([0, 0.9, 0.9, 0.9]), 2))).toEqual([2, 0, 1, 3]);
    // The first seed is floor(u0 * N).
    const { draws: u, first } = kmeansDraws(3, 0, 4, 1000);
    expect(first).toBe(Math.floor(u[0] * 1000));
  });
});

describe('K-Means GPU vs CPU twin', () => {
  const cases: Array<{ name: string; N: number; D: number; K: number; data: () => Float32Array; inits?: number; maxIterations?: number; seed?: number }> = [
    { name: 'N=70 (not a multiple of 64), D=37, K=5', N: 70, D: 37, K: 5, data: () => blobs(70, 37, 5, 0.05, 1).points },
    { name: 'N=64, D=2100 (3 chunks, last partial), K=6', N: 64, D: 2100, K: 6, data: () => blobs(64, 2100, 6, 0.05, 2).points },
    { name: 'N=21, D=1030 (scalar rows, 2 chunks), K=3', N: 21, D: 1030, K: 3, data: () => blobs(21, 1030, 3, 0.05, 12).points },
    { name: 'K=1', N: 33, D: 9, K: 1, data: () => blobs(33, 9, 3, 0.05, 3).points },
    { name: 'K=N', N: 13, D: 20, K: 13, data: () => blobs(13, 20, 4, 0.05, 4).points },
    { name: 'D=1', N: 150, D: 1, K: 4, data: () => blobs(150, 1, 4, 0.001, 5).points, seed: 9 },
    { name: 'K > true blobs, inits=3', N: 200, D: 64, K: 9, data: () => blobs(200, 64, 6, 0.05, 6).points, inits: 3, seed: 42 },
    { name: 'uniform cloud, stopped by maxIterations=3', N: 129, D: 16, K: 7, data: () => uniformCloud(129, 16, 7), maxIterations: 3 },
    { name: 'uniform cloud, 13 iterations allowed (two submits)', N: 100, D: 8, K: 6, data: () => uniformCloud(100, 8, 8), maxIterations: 13, seed: 5 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const points = c.data();
      const options: KMeansOptions = { clusters: c.K, seed: c.seed ?? 0, inits: c.inits ?? 1, maxIterations: c.maxIterations ?? 100 };
      const cpu = kmeansCpu(points, c.N, c.D, options);
      const gpu = await runGpu(points, c.N, c.D, options);
      expectSameClustering(gpu, cpu);
      expect(new Set(cpu.seedPoints).size).toBe(c.K);
      expect(cpu.iterations).toBeGreaterThanOrEqual(1);
      const converged = cpu.iterations < options.maxIterations;
      expectConsistent(points, c.N, c.D, cpu, converged);
      if (c.maxIterations !== undefined && c.maxIterations <= 3) expect(cpu.iterations).toBe(c.maxIterations);
      if (c.maxIterations === 13) expect(cpu.iterations).toBeGreaterThan(8); // the second submit ran
    });
  }

  it('maxIterations = 0 returns the seeds as centroids and A_0', async () => {
    const N = 40;
    const D = 10;
    const { points } = blobs(N, D, 3, 0.05, 21);
    const options = { clusters: 3, seed: 1, inits: 1, maxIterations: 0 };
    const cpu = kmeansCpu(points, N, D, options);
    const gpu = await runGpu(points, N, D, options);
    expectSameClustering(gpu, cpu);
    expect(gpu.iterations).toBe(0);
    for (let k = 0; k < 3; k++) {
      expect(Array.from(gpu.centroids.subarray(k * D, (k + 1) * D))).toEqual(Array.from(points.subarray(gpu.seedPoints[k] * D, (gpu.seedPoints[k] + 1) * D)));
    }
  });

  it('seeding is deterministic in the seed and varies with it', async () => {
    const N = 90;
    const D = 24;
    const { points } = blobs(N, D, 8, 0.2, 31);
    const seedsOf = async (seed: number) => Array.from((await runGpu(points, N, D, { clusters: 6, seed, inits: 1, maxIterations: 0 })).seedPoints);
    const first = await seedsOf(123);
    expect(await seedsOf(123)).toEqual(first);
    expect(Array.from(kmeansCpu(points, N, D, { clusters: 6, seed: 123, inits: 1, maxIterations: 0 }).seedPoints)).toEqual(first);
    const others = await Promise.all([1, 2, 3, 4].map(seedsOf));
    const differing = others.filter((s) => JSON.stringify(s) !== JSON.stringify(first)).length;
    expect(differing).toBeGreaterThanOrEqual(3);
  });

  it('honours explicit seedPoints (and runs one init)', async () => {
    const N = 60;
    const D = 15;
    const { points } = blobs(N, D, 4, 0.05, 41);
    const seedPoints = [59, 3, 17, 0];
    const options = { clusters: 4, seed: 0, inits: 5, maxIterations: 0, seedPoints };
    const gpu = await runGpu(points, N, D, options);
    expect(Array.from(gpu.seedPoints)).toEqual(seedPoints);
    seedPoints.forEach((s, k) => expect(Array.from(gpu.centroids.subarray(k * D, (k + 1) * D))).toEqual(Array.from(points.subarray(s * D, (s + 1) * D))));
    const cpu = kmeansCpu(points, N, D, options);
    expectSameClustering(gpu, cpu);
    const full = { ...options, maxIterations: 100 };
    expectSameClustering(await runGpu(points, N, D, full), kmeansCpu(points, N, D, full));
  });

  it('inits > 1 keeps the init with the lowest inertia', async () => {
    const N = 120;
    const D = 6;
    const points = uniformCloud(N, D, 51);
    const K = 8;
    const inits = 5;
    const seed = 77;
    // Each init on its own, from its draws.
    const single = Array.from({ length: inits }, (_, r) => {
      const { draws, first } = kmeansDraws(seed, r, K, N);
      const seeds = kmeansPlusPlusSeeds(points, N, D, K, draws, first);
      return kmeansCpu(points, N, D, { clusters: K, seed, inits: 1, maxIterations: 100, seedPoints: Array.from(seeds) });
    });
    const inertias = single.map((r) => r.inertia);
    expect(new Set(inertias).size).toBeGreaterThan(1);
    const bestIndex = inertias.indexOf(Math.min(...inertias));
    expect(bestIndex).toBeGreaterThan(0); // otherwise inits = 1 would pass too
    const options = { clusters: K, seed, inits, maxIterations: 100 };
    const cpu = kmeansCpu(points, N, D, options);
    expect(cpu.inertia).toBe(inertias[bestIndex]);
    expect(Array.from(cpu.seedPoints)).toEqual(Array.from(single[bestIndex].seedPoints));
    const gpu = await runGpu(points, N, D, options);
    expectSameClustering(gpu, cpu);
  });

  it('an empty cluster keeps its centroid (duplicate seeds, and a cluster emptied by an update)', async () => {
    // Points 0 and 5 are identical and far from the rest: seeded with both, cluster 1 loses
    // every tie to cluster 0 (whose mean stays at that point) and stays empty at its seed.
    const N = 30;
    const D = 5;
    const { points } = blobs(N, D, 3, 0.05, 61);
    points.fill(10, 0, D);
    points.fill(10, 5 * D, 6 * D);
    const options = { clusters: 3, seed: 0, inits: 1, maxIterations: 100, seedPoints: [0, 5, 20] };
    const cpu = kmeansCpu(points, N, D, options);
    expect(cpu.assignments.includes(1)).toBe(false);
    expect(cpu.iterations).toBeGreaterThanOrEqual(1);
    expect(Array.from(cpu.centroids.subarray(D, 2 * D))).toEqual(new Array(D).fill(10));
    expectSameClustering(await runGpu(points, N, D, options), cpu);

    // 2-D, seeds p0 (2,5), p1 (0,5), p3 (1,5): A_0 = {p0,p2} {p1,p4} {p3}; the update moves
    // centroid 1 to (0,11), after which its points are nearer to the other two: cluster 1 is
    // emptied by iteration 1 and keeps (0,11) while the others converge.
    const grid = Float32Array.from([2, 5, 0, 5, 3, 19, 1, 5, 0, 17]);
    const mid = { clusters: 3, seed: 0, inits: 1, maxIterations: 100, seedPoints: [0, 1, 3] };
    const cpuMid = kmeansCpu(grid, 5, 2, mid);
    expect(Array.from(kmeansCpu(grid, 5, 2, { ...mid, maxIterations: 0 }).assignments)).toEqual([0, 1, 0, 2, 1]);
    expect(Array.from(cpuMid.assignments)).toEqual([2, 2, 0, 2, 0]);
    expect(cpuMid.iterations).toBe(2);
    expect(Array.from(cpuMid.centroids)).toEqual([1.5, 18, 0, 11, 1, 5]);
    expectSameClustering(await runGpu(grid, 5, 2, mid), cpuMid);
  });

  it('K = N with duplicate points takes the lowest unchosen point once sum(D2) is 0', async () => {
    const N = 9;
    const D = 4;
    const base = blobs(3, D, 3, 0.05, 71).points;
    const points = new Float32Array(N * D);
    for (let p = 0; p < N; p++) points.set(base.subarray((p % 3) * D, (p % 3 + 1) * D), p * D);
    const options = { clusters: N, seed: 3, inits: 1, maxIterations: 100 };
    const cpu = kmeansCpu(points, N, D, options);
    expect(new Set(cpu.seedPoints).size).toBe(N);
    // After one seed per distinct value, the rest come in increasing index order.
    const rest = Array.from(cpu.seedPoints.subarray(3));
    expect(rest).toEqual([...rest].sort((a, b) => a - b));
    expect(cpu.inertia).toBeLessThan(1e-9);
    expectSameClustering(await runGpu(points, N, D, options), cpu);
  });

  it('rejects bad options with InvalidOptionError (CPU and GPU)', async () => {
    const N = 10;
    const D = 3;
    const points = uniformCloud(N, D, 81);
    const buffer = await upload(points);
    const ctx = await testGpu();
    const base = { clusters: 3, seed: 0, inits: 1, maxIterations: 10 };
    const bad: Array<[Partial<KMeansOptions>, RegExp]> = [
      [{ clusters: 0 }, /clusters must be an integer >= 1/],
      [{ clusters: 11 }, /must not exceed the number of points/],
      [{ clusters: 2.5 }, /clusters must be an integer/],
      [{ seedPoints: [1, 2] }, /has 2 indices but clusters is 3/],
      [{ seedPoints: [1, 2, 10] }, /index 10 is not a point index/],
      [{ seedPoints: [1, -1, 2] }, /index -1 is not a point index/],
      [{ seedPoints: [4, 2, 4] }, /lists point 4 twice/],
      [{ inits: 0 }, /inits must be an integer >= 1/],
      [{ maxIterations: -1 }, /maxIterations must be an integer >= 0/],
      [{ seed: 0.5 }, /seed must be an integer/],
    ];
    for (const [patch, message] of bad) {
      const options = { ...base, ...patch };
      expect(() => kmeansCpu(points, N, D, options)).toThrow(InvalidOptionError);
      expect(() => kmeansCpu(points, N, D, options)).toThrow(message);
      await expect(kmeansGpu(ctx, buffer, N, D, options)).rejects.toThrow(InvalidOptionError);
    }
    expect(() => kmeansCpu(points, N + 1, D, base)).toThrow(ShapeMismatchError);
    await expect(kmeansGpu(ctx, buffer, N + 1, D, base)).rejects.toThrow(ShapeMismatchError);
    await expect(kmeansGpu(ctx, { buffer, size: 16 }, N, D, base)).rejects.toThrow(ShapeMismatchError);
  });

  it('works on a window of a larger buffer (offset binding)', async () => {
    const N = 40;
    const D = 7;
    const { points } = blobs(N, D, 3, 0.05, 91);
    const padded = new Float32Array(64 + N * D + 5).fill(1e6);
    padded.set(points, 64);
    const buffer = await upload(padded);
    const ctx = await testGpu();
    const options = { clusters: 3, seed: 2, inits: 2, maxIterations: 50 };
    const raw = await kmeansGpu(ctx, { buffer, offset: 256, size: N * D * 4 }, N, D, options);
    try {
      const centroids = await readFloats(raw.centroids, 3 * D);
      expectSameClustering({ ...raw, centroids }, kmeansCpu(points, N, D, options));
    } finally {
      raw.release();
    }
  });

  it('ClusCAM size: N=256, D=224*224, K=10 matches the CPU twin', async () => {
    const N = 256;
    const D = 224 * 224;
    const K = 10;
    // 12 blobs of min-max-normalised-looking maps: values in [0,1], uniform noise.
    const rand = prng(2024);
    const centres = Float32Array.from({ length: 12 * D }, () => rand());
    const points = new Float32Array(N * D);
    for (let p = 0; p < N; p++) {
      const g = p % 12;
      for (let d = 0; d < D; d++) points[p * D + d] = Math.min(1, Math.max(0, centres[g * D + d] + 0.1 * (rand() - 0.5)));
    }
    const options = { clusters: K, seed: 0, inits: 1, maxIterations: 100 };
    const t0 = performance.now();
    const cpu = kmeansCpu(points, N, D, options);
    const t1 = performance.now();
    const gpu = await runGpu(points, N, D, options);
    const t2 = performance.now();
    // Warm: pipelines compiled, same sizes again.
    const t3 = performance.now();
    const again = await runGpu(points, N, D, options);
    const t4 = performance.now();
    console.log(
      `k-means N=${N} D=${D} K=${K}: CPU ${(t1 - t0).toFixed(0)} ms, GPU ${(t2 - t1).toFixed(0)} ms (first), ${(t4 - t3).toFixed(0)} ms (again), ` +
        `both incl. upload + readback; ${cpu.iterations} iterations; max |centroid diff| ${maxAbsDiff(gpu.centroids, cpu.centroids)}, ` +
        `inertia ${cpu.inertia} vs ${gpu.inertia}; adapter ${(await testGpu()).adapterName}`,
    );
    expectSameClustering(gpu, cpu);
    expectSameClustering(again, cpu);
    expect(new Set(cpu.assignments).size).toBe(K);
  });
});
