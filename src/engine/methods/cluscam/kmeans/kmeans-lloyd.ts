import assignSource from './kmeans_assign.wgsl?raw';
import finishSource from './kmeans_finish.wgsl?raw';
import updateSource from './kmeans_update.wgsl?raw';
import { withLibraries } from '../../../gpu/wgsl-library.js';
import type { KernelDef } from '../../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../../gpu/recorder.js';
import { kmeansChunks, kmeansDistanceGrid, recordKMeansDistances } from './kmeans-distance.js';

const WG = 64;
const assignKernel: KernelDef = {
  name: 'kmeans_assign',
  source: assignSource,
  bindings: ['read', 'write', 'write', 'write', 'uniform'],
};
const finishKernel: KernelDef = {
  name: 'kmeans_finish',
  source: finishSource,
  bindings: ['write', 'read', 'write', 'write', 'uniform'],
};
const updateKernel: KernelDef = {
  name: 'kmeans_update',
  source: withLibraries(updateSource, 'flatIndex'),
  bindings: ['read', 'read', 'write', 'uniform'],
};

/**
 * Word offsets of the Flags struct (kmeans_assign.wgsl, kmeans_finish.wgsl): 4 u32. `running`
 * drops to 0 once the run has converged or reached maxIterations.
 */
export const KMEANS_FLAGS = { running: 0, changed: 1, iterations: 2, maxIterations: 3 } as const;
export const KMEANS_FLAGS_BYTES = 16;
/** Byte offsets of the Lloyd kernels' indirect dispatch sizes in the args buffer (9 u32). */
const ARGS = { update: 0, distance: 12, assign: 24 } as const;
export const KMEANS_ARGS_BYTES = 36;

/** The GPU state of one K-Means run, kept across submits. */
export interface KMeansState {
  points: BufferBinding;
  /** [K, D] f32. */
  centroids: GPUBuffer;
  /** [N] u32 cluster of each point. */
  assignments: GPUBuffer;
  /** [N] f32 squared distance of each point to its assigned centroid. */
  distances: GPUBuffer;
  /** Flags (KMEANS_FLAGS). */
  flags: GPUBuffer;
  /** [2K + N] u32 member lists (kmeans_finish.wgsl). */
  members: GPUBuffer;
  /** [N, K, chunks] f32 distance chunk sums. */
  partial: GPUBuffer;
  /** 9 u32 indirect dispatch sizes of update, distance, assign (STORAGE | INDIRECT usage). */
  args: GPUBuffer;
}

export interface KMeansDims {
  count: number;
  dims: number;
  clusters: number;
}

/** Bytes of each KMeansState buffer (besides points). */
export function kmeansStateBytes(dims: KMeansDims): Record<Exclude<keyof KMeansState, 'points'>, number> {
  const { count, clusters } = dims;
  return {
    centroids: clusters * dims.dims * 4,
    assignments: count * 4,
    distances: count * 4,
    flags: KMEANS_FLAGS_BYTES,
    members: (2 * clusters + count) * 4,
    partial: count * clusters * kmeansChunks(dims.dims) * 4,
    args: KMEANS_ARGS_BYTES,
  };
}

/** Row length in array elements of the update kernel: vec4s when D is a multiple of 4. */
function elements(dims: number): number {
  return dims % 4 === 0 ? dims / 4 : dims;
}

/** Initial Flags words and indirect dispatch sizes of a run allowing `maxIterations` updates. */
export function kmeansInitialControl(dims: KMeansDims, maxIterations: number): { flags: Uint32Array<ArrayBuffer>; args: Uint32Array<ArrayBuffer> } {
  const { count, clusters } = dims;
  const running = maxIterations > 0 ? 1 : 0;
  const [ux, uy] = workgroupGrid(Math.ceil((clusters * Math.ceil(elements(dims.dims) / 4)) / WG));
  const [dx, dy] = kmeansDistanceGrid(count, clusters, dims.dims);
  const args = running ? [ux, uy, 1, dx, dy, 1, Math.ceil(count / WG), 1, 1] : new Array<number>(9).fill(0);
  return { flags: Uint32Array.from([running, 0, 0, maxIterations]), args: Uint32Array.from(args) };
}

/** Distances to the centroids, then nearest-centroid assignment (direct, or indirect from state.args). */
function recordAssign(rec: Recorder, pass: StagePass, state: KMeansState, dims: KMeansDims, indirect: boolean): void {
  const { count, clusters } = dims;
  recordKMeansDistances(
    rec,
    pass,
    { points: state.points, centres: state.centroids, partial: state.partial },
    { count, dims: dims.dims, rows: clusters },
    indirect ? { indirect: { args: state.args, offset: ARGS.distance } } : {},
  );
  const params = rec.uniform([{ u32: count }, { u32: clusters }, { u32: kmeansChunks(dims.dims) }]);
  const resources = [state.partial, state.assignments, state.distances, state.flags, params];
  if (indirect) rec.dispatchIndirect(pass, assignKernel, { WG }, resources, state.args, ARGS.assign);
  else rec.dispatch(pass, assignKernel, { WG }, resources, [Math.ceil(count / WG)]);
}

function recordFinish(rec: Recorder, pass: StagePass, state: KMeansState, dims: KMeansDims, countIteration: boolean): void {
  const params = rec.uniform([{ u32: dims.count }, { u32: dims.clusters }]);
  rec.dispatch(pass, finishKernel, { COUNT: countIteration }, [state.flags, state.assignments, state.members, state.args, params], [1]);
}

/**
 * A_0: assign every point to the nearest initial centroid, then list the members for the first
 * update (and clear the changed flag). Needs the centroids filled (recordKMeansGather).
 */
export function recordKMeansInitialAssignment(rec: Recorder, pass: StagePass, state: KMeansState, dims: KMeansDims): void {
  recordAssign(rec, pass, state, dims, false);
  recordFinish(rec, pass, state, dims, false);
}

/**
 * `iterations` Lloyd iterations (update, distances, assignment, bookkeeping). Once a run has
 * converged or used up maxIterations, the finish kernel zeroes the indirect dispatch sizes, so
 * the rest of the recorded iterations are no-ops; read the flags back to learn where it stands.
 */
export function recordKMeansIterations(rec: Recorder, pass: StagePass, state: KMeansState, dims: KMeansDims, iterations: number): void {
  for (let i = 0; i < iterations; i++) {
    const elems = elements(dims.dims);
    const params = rec.uniform([{ u32: elems }, { u32: dims.clusters }, { u32: Math.ceil(elems / 4) }]);
    rec.dispatchIndirect(pass, updateKernel, { WG, VEC4: dims.dims % 4 === 0 }, [state.points, state.members, state.centroids, params], state.args, ARGS.update);
    recordAssign(rec, pass, state, dims, true);
    recordFinish(rec, pass, state, dims, true);
  }
}
