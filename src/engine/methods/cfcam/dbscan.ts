import coreSource from './dbscan_core.wgsl?raw';
import unionSource from './dbscan_union.wgsl?raw';
import resolveSource from './dbscan_resolve.wgsl?raw';
import numberSource from './dbscan_number.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { ImageChunk } from './pairwise-distance.js';

const WG = 64;
/** Rows per union thread (down one column). */
const SPAN = 16;
const coreKernel: KernelDef = {
  name: 'dbscan_core',
  source: withLibraries(coreSource, 'imageState'),
  bindings: ['read', 'read', 'write', 'write', 'uniform'],
};
const unionKernel: KernelDef = {
  name: 'dbscan_union',
  source: withLibraries(unionSource, 'imageState'),
  bindings: ['read', 'read', 'read', 'write', 'uniform'],
};
const resolveKernel: KernelDef = {
  name: 'dbscan_resolve',
  source: withLibraries(resolveSource, 'imageState'),
  bindings: ['read', 'read', 'read', 'read', 'write', 'uniform'],
};
const numberKernel: KernelDef = {
  name: 'dbscan_number',
  source: withLibraries(numberSource, 'imageState', 'scan'),
  bindings: ['write', 'read', 'read', 'read', 'write', 'write', 'write', 'write', 'uniform'],
};

/** Per-batch scratch for DBSCAN, [B, C] each. */
export interface DbscanBuffers {
  core: GPUBuffer;
  parent: GPUBuffer;
  root: GPUBuffer;
  clusterOfRoot: GPUBuffer;
  /** Output: label of the r-th remaining channel (-1 noise, k cluster). */
  remainingLabel: GPUBuffer;
  /** Output: indirect dispatch arguments (max clusters over the batch, 1, B) for the cluster filter. */
  filterDispatch: GPUBuffer;
}

export function allocateDbscanBuffers(rec: Recorder, batch: number, channels: number): DbscanBuffers {
  const bytes = batch * channels * 4;
  return {
    core: rec.storage(bytes, 'dbscan core'),
    parent: rec.storage(bytes, 'dbscan parent'),
    root: rec.storage(bytes, 'dbscan root'),
    clusterOfRoot: rec.storage(bytes, 'dbscan cluster ids'),
    remainingLabel: rec.storage(bytes, 'dbscan labels'),
    filterDispatch: rec.indirectArgs([0, 1, batch], 'cluster filter dispatch'),
  };
}

/**
 * DBSCAN over each image's remaining channels with scikit-learn's labels: core points,
 * connected components (lock-free min-root union-find), border points, ids by root order.
 * Writes cluster labels into `labels` and cluster/noise counts into `state`.
 */
export function recordDbscan(
  rec: Recorder,
  pass: StagePass,
  inputs: { distances: GPUBuffer; state: GPUBuffer; remainingIndex: GPUBuffer; labels: GPUBuffer },
  scratch: DbscanBuffers,
  channels: number,
  chunk: ImageChunk,
): void {
  const params = rec.uniform([{ u32: channels }, { u32: chunk.offset }]);
  const perChannel: [number, number, number] = [Math.ceil(channels / WG), 1, chunk.count];
  const { distances, state } = inputs;
  rec.dispatch(pass, coreKernel, { WG }, [distances, state, scratch.core, scratch.parent, params], perChannel);
  rec.dispatch(pass, unionKernel, { WG, SPAN }, [distances, state, scratch.core, scratch.parent, params], [Math.ceil(channels / WG), Math.ceil(channels / SPAN), chunk.count]);
  rec.dispatch(pass, resolveKernel, { WG }, [distances, state, scratch.core, scratch.parent, scratch.root, params], perChannel);
  rec.dispatch(
    pass,
    numberKernel,
    { WG: 256 },
    [state, scratch.core, scratch.root, inputs.remainingIndex, inputs.labels, scratch.remainingLabel, scratch.clusterOfRoot, scratch.filterDispatch, params],
    [chunk.count],
  );
}
