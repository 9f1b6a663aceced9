import d2Source from './kmeans_d2.wgsl?raw';
import selectSource from './kmeans_select.wgsl?raw';
import gatherSource from './kmeans_gather.wgsl?raw';
import { withLibraries } from '../../../gpu/wgsl-library.js';
import type { KernelDef } from '../../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../../gpu/recorder.js';
import { kmeansChunks, recordKMeansDistances } from './kmeans-distance.js';

const WG = 64;
const d2Kernel: KernelDef = {
  name: 'kmeans_d2',
  source: d2Source,
  bindings: ['read', 'write', 'uniform'],
};
const selectKernel: KernelDef = {
  name: 'kmeans_select',
  source: selectSource,
  bindings: ['read', 'read', 'write', 'write', 'uniform'],
};
const gatherKernel: KernelDef = {
  name: 'kmeans_gather',
  source: withLibraries(gatherSource, 'flatIndex'),
  bindings: ['read', 'read', 'write', 'uniform'],
};

/** Scratch of the K-Means++ seeding: D2 [N], chosen flags [N] (zeroed), chunk sums [N, chunks]. */
export interface KMeansSeedingScratch {
  d2: GPUBuffer;
  chosen: GPUBuffer;
  partial: GPUBuffer;
}

export function allocateKMeansSeedingScratch(rec: Recorder, count: number, dims: number): KMeansSeedingScratch {
  return {
    d2: rec.storage(count * 4, 'k-means++ D2'),
    chosen: rec.zeroed(count * 4, 'k-means++ chosen'),
    partial: rec.storage(count * kmeansChunks(dims) * 4, 'k-means++ distance chunks'),
  };
}

/**
 * K-Means++ seeding (./cpu.ts): `seeds` [K] u32 holds s_0 on entry and
 * s_0..s_{K-1} after. Each step updates D2 with the last seed and picks the next one on the
 * GPU (the pick never leaves the GPU), so all K-1 steps record into one pass.
 */
export function recordKMeansPlusPlus(
  rec: Recorder,
  pass: StagePass,
  inputs: { points: BufferBinding; seeds: GPUBuffer; draws: GPUBuffer },
  scratch: KMeansSeedingScratch,
  dims: { count: number; dims: number; clusters: number },
): void {
  const { count, clusters } = dims;
  const chunks = kmeansChunks(dims.dims);
  for (let j = 0; j + 1 < clusters; j++) {
    recordKMeansDistances(rec, pass, { points: inputs.points, centres: inputs.seeds, partial: scratch.partial }, { count, dims: dims.dims, rows: 1 }, { seedSlot: j });
    const d2Params = rec.uniform([{ u32: count }, { u32: chunks }]);
    rec.dispatch(pass, d2Kernel, { WG, FIRST: j === 0 }, [scratch.partial, scratch.d2, d2Params], [Math.ceil(count / WG)]);
    const selectParams = rec.uniform([{ u32: count }, { u32: j }]);
    rec.dispatch(pass, selectKernel, {}, [scratch.d2, inputs.draws, inputs.seeds, scratch.chosen, selectParams], [1]);
  }
}

/** centroids[k] = points[seeds[k]] ([K, D]). */
export function recordKMeansGather(
  rec: Recorder,
  pass: StagePass,
  inputs: { points: BufferBinding; seeds: GPUBuffer; centroids: GPUBuffer },
  dims: { dims: number; clusters: number },
): void {
  const params = rec.uniform([{ u32: dims.dims }, { u32: dims.clusters }]);
  rec.dispatch(pass, gatherKernel, { WG }, [inputs.points, inputs.seeds, inputs.centroids, params], workgroupGrid(Math.ceil((dims.dims * dims.clusters) / WG)));
}
