/**
 * K-Means on the GPU (K-Means++ seeding + Lloyd, best of several inits): ClusCAM's clustering
 * of the upsampled channels (cluscam.md, step 4). It follows the definition in
 * ./cpu.ts, whose kmeansCpu is its CPU twin: same draws, same float32 operation
 * order (distances summed in chunks of KMEANS_CHUNK coordinates, then over the chunks), same
 * tie rules, so both give the same seeds and assignments.
 *
 * Per init:
 * - submit 1: K-Means++ (each step: chunked distances to the last seed, D2 = min, a single
 *   invocation picks the next seed from the prefix sums of D2, and the pick stays on the GPU),
 *   centroids = the seed points, assignment A_0, then the first ITERATIONS_PER_SUBMIT Lloyd
 *   iterations;
 * - further submits of ITERATIONS_PER_SUBMIT iterations while the run has neither converged nor
 *   reached maxIterations. The Lloyd kernels are dispatched indirectly; a run that has
 *   converged zeroes their workgroup counts, so iterations recorded after it cost nothing.
 *   Between submits only the 4-word flags (and N assignments and distances) come back.
 * The inertia is summed on the CPU (float64) from the N read-back distances. Inits run one
 * after the other; the one with the lowest inertia is kept (ties: the earliest) and the others'
 * centroids are destroyed.
 *
 * Agreement with the CPU twin: on SwiftShader the results are bit-identical (float32 +, -, *
 * are correctly rounded in WGSL). A GPU compiler that fuses `acc + q * q` into an FMA, or a
 * division that is not correctly rounded (WGSL allows 2.5 ULP), changes the last bits of
 * distances and centroids; seeds and assignments then still agree except when a prefix sum or
 * two distances are within rounding of each other.
 */
import { ShapeMismatchError } from '../../../errors.js';
import { assertBindable } from '../../../gpu/limits.js';
import type { GpuContext } from '../../../gpu/context.js';
import { BufferUsage } from '../../../gpu/flags.js';
import { Recorder, STORAGE_USAGE, type BufferBinding } from '../../../gpu/recorder.js';
import {
  KMEANS_FLAGS,
  kmeansInitialControl,
  kmeansStateBytes,
  recordKMeansInitialAssignment,
  recordKMeansIterations,
  type KMeansDims,
  type KMeansState,
} from './kmeans-lloyd.js';
import { allocateKMeansSeedingScratch, recordKMeansGather, recordKMeansPlusPlus } from './kmeans-seeding.js';
import { kmeansDraws, planKMeans, type KMeansOptions, type KMeansPlan, type KMeansResult } from './cpu.js';

export type { KMeansOptions, KMeansResult } from './cpu.js';

/** Lloyd iterations recorded per submit (converged runs make the surplus no-ops). */
const ITERATIONS_PER_SUBMIT = 8;

export interface KMeansGpuResult extends Omit<KMeansResult, 'centroids'> {
  /**
   * [K, D] float32, exactly K*D*4 bytes (STORAGE | COPY_SRC | COPY_DST), owned by the caller:
   * call release() (or destroy it) when done.
   */
  centroids: GPUBuffer;
  /** Destroys `centroids`. */
  release(): void;
}

/** The points as an explicit-size binding; throws when the buffer is too small. */
function pointsBinding(points: BufferBinding, bytes: number): { buffer: GPUBuffer; offset: number; size: number } {
  const buffer = 'buffer' in points ? points.buffer : points;
  const offset = 'buffer' in points ? (points.offset ?? 0) : 0;
  const available = 'buffer' in points && points.size !== undefined ? points.size : buffer.size - offset;
  if (available < bytes) {
    throw new ShapeMismatchError(`k-means points binding holds ${available} bytes, fewer than the ${bytes} of the given count x dims float32 points`);
  }
  return { buffer, offset, size: bytes };
}

function checkLimits(device: GPUDevice, sizes: Record<string, number>): void {
  for (const [name, bytes] of Object.entries(sizes)) {
    assertBindable(device, bytes, `k-means ${name}`, 'use fewer points, dimensions or clusters, or the CPU backend');
  }
}

/** One init: seeding (or the given seeds), A_0 and Lloyd to convergence. */
async function runInit(
  gpu: GpuContext,
  points: BufferBinding,
  dims: KMeansDims,
  plan: KMeansPlan,
  seedOption: number,
  init: number,
): Promise<KMeansGpuResult> {
  const { device, pool } = gpu;
  const { count, clusters } = dims;
  const bytes = kmeansStateBytes(dims);
  const centroids = device.createBuffer({ size: bytes.centroids, usage: STORAGE_USAGE, label: 'k-means centroids' });
  const pooled = {
    assignments: pool.acquire(bytes.assignments, STORAGE_USAGE, 'k-means assignments'),
    distances: pool.acquire(bytes.distances, STORAGE_USAGE, 'k-means distances'),
    flags: pool.acquire(bytes.flags, STORAGE_USAGE, 'k-means flags'),
    members: pool.acquire(bytes.members, STORAGE_USAGE, 'k-means members'),
    partial: pool.acquire(bytes.partial, STORAGE_USAGE, 'k-means distance chunks'),
    args: pool.acquire(bytes.args, STORAGE_USAGE | BufferUsage.INDIRECT, 'k-means dispatch sizes'),
  };
  const state: KMeansState = { points, centroids, ...pooled };
  const control = kmeansInitialControl(dims, plan.maxIterations);
  device.queue.writeBuffer(state.flags, 0, control.flags);
  device.queue.writeBuffer(state.args, 0, control.args);

  let seedPoints!: Int32Array;
  let flags!: Uint32Array;
  let assignments!: Int32Array;
  let distances!: Float32Array;
  const submitIterations = async (first: boolean, iterations: number): Promise<void> => {
    const rec = new Recorder(gpu, { label: first ? 'k-means init' : 'k-means iterations' });
    let seedIndex = -1;
    let flagsIndex: number, assignmentsIndex: number, distancesIndex: number;
    try {
      if (first) {
        const seeds = rec.storage(clusters * 4, 'k-means seeds');
        if (plan.seedPoints) {
          device.queue.writeBuffer(seeds, 0, Uint32Array.from(plan.seedPoints));
        } else {
          const { draws, first: firstSeed } = kmeansDraws(seedOption, init, clusters, count);
          const initial = new Uint32Array(clusters);
          initial[0] = firstSeed;
          device.queue.writeBuffer(seeds, 0, initial);
          if (clusters > 1) {
            const drawBuffer = rec.storage(clusters * 4, 'k-means++ draws');
            device.queue.writeBuffer(drawBuffer, 0, draws);
            const scratch = allocateKMeansSeedingScratch(rec, count, dims.dims);
            rec.stage('k-means++ seeding', (pass) => {
              recordKMeansPlusPlus(rec, pass, { points, seeds, draws: drawBuffer }, scratch, dims);
            });
          }
        }
        rec.stage('k-means assignment', (pass) => {
          recordKMeansGather(rec, pass, { points, seeds, centroids }, dims);
          recordKMeansInitialAssignment(rec, pass, state, dims);
        });
        seedIndex = rec.read(seeds, clusters * 4);
      }
      if (iterations > 0) {
        rec.stage('k-means lloyd', (pass) => recordKMeansIterations(rec, pass, state, dims, iterations));
      }
      flagsIndex = rec.read(state.flags, bytes.flags);
      assignmentsIndex = rec.read(state.assignments, bytes.assignments);
      distancesIndex = rec.read(state.distances, bytes.distances);
    } catch (error) {
      rec.abandon();
      throw error;
    }
    const { readbacks } = await rec.submit();
    if (seedIndex >= 0) seedPoints = new Int32Array(readbacks[seedIndex]);
    flags = new Uint32Array(readbacks[flagsIndex]);
    assignments = new Int32Array(readbacks[assignmentsIndex]);
    distances = new Float32Array(readbacks[distancesIndex]);
  };

  try {
    await submitIterations(true, Math.min(ITERATIONS_PER_SUBMIT, plan.maxIterations));
    while (flags[KMEANS_FLAGS.running] !== 0 && flags[KMEANS_FLAGS.iterations] < plan.maxIterations) {
      await submitIterations(false, Math.min(ITERATIONS_PER_SUBMIT, plan.maxIterations - flags[KMEANS_FLAGS.iterations]));
    }
  } catch (error) {
    centroids.destroy();
    throw error;
  } finally {
    for (const buffer of Object.values(pooled)) pool.release(buffer);
  }
  let inertia = 0;
  for (let p = 0; p < count; p++) inertia += distances[p];
  let released = false;
  return {
    centroids,
    assignments,
    seedPoints,
    iterations: flags[KMEANS_FLAGS.iterations],
    inertia,
    release() {
      if (released) return;
      released = true;
      centroids.destroy();
    },
  };
}

/**
 * K-Means of `count` points of `dims` float32 values ([N, D] row-major in `points`, on
 * gpu.device) with the definition of ./cpu.ts. Throws InvalidOptionError for bad
 * options (K < 1, K > N, bad seedPoints, ...), ShapeMismatchError when `points` is too small,
 * DeviceLimitError when the buffers exceed the device's limits.
 */
export async function kmeansGpu(gpu: GpuContext, points: BufferBinding, count: number, dims: number, options: KMeansOptions): Promise<KMeansGpuResult> {
  const plan = planKMeans(count, dims, options);
  const problem: KMeansDims = { count, dims, clusters: plan.clusters };
  const binding = pointsBinding(points, count * dims * 4);
  const bytes = kmeansStateBytes(problem);
  checkLimits(gpu.device, { points: binding.size, centroids: bytes.centroids, 'distance chunks': bytes.partial });
  let best: KMeansGpuResult | undefined;
  try {
    for (let init = 0; init < plan.inits; init++) {
      const result = await runInit(gpu, binding, problem, plan, options.seed, init);
      if (!best || result.inertia < best.inertia) {
        best?.release();
        best = result;
      } else {
        result.release();
      }
    }
  } catch (error) {
    best?.release();
    throw error;
  }
  return best!;
}
