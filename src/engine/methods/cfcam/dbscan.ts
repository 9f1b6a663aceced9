import neighboursSource from './dbscan_neighbours.wgsl?raw';
import componentsSource from './dbscan_components.wgsl?raw';
import resolveSource from './dbscan_resolve.wgsl?raw';
import numberSource from './dbscan_number.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';
import { withCfcamState } from './cfcam-state.js';
import type { ImageChunk } from './pairwise-distance.js';

const WG = 64;
const neighboursKernel: KernelDef = {
  name: 'dbscan_neighbours',
  source: withCfcamState(neighboursSource),
  bindings: ['read', 'read', 'write', 'write', 'write', 'write', 'uniform'],
};
const componentsKernel: KernelDef = {
  name: 'dbscan_components',
  source: withCfcamState(componentsSource),
  bindings: ['read', 'read', 'read', 'write', 'uniform'],
};
const resolveKernel: KernelDef = {
  name: 'dbscan_resolve',
  source: withCfcamState(resolveSource),
  bindings: ['read', 'read', 'read', 'read', 'read', 'write', 'uniform'],
};

/** u32 words of one neighbour bit row. */
const bitWords = (channels: number) => Math.ceil(channels / 32);
const numberKernel: KernelDef = {
  name: 'dbscan_number',
  source: withCfcamState(numberSource, 'scan'),
  bindings: ['write', 'read', 'read', 'read', 'write', 'write', 'write', 'write', 'uniform'],
};

/** Per-batch scratch for DBSCAN, [B, C] each unless noted. */
export interface DbscanBuffers {
  /** [chunk, C, ceil(C/32)] neighbour bit rows of the images of one distance chunk. */
  neighbours: GPUBuffer;
  /** [B, ceil(C/32)] core points as bits (zeroed here). */
  coreBits: GPUBuffer;
  core: GPUBuffer;
  parent: GPUBuffer;
  root: GPUBuffer;
  clusterOfRoot: GPUBuffer;
  /** Output: label of the r-th remaining channel (-1 noise, k cluster). */
  remainingLabel: GPUBuffer;
  /** Output: indirect dispatch arguments (max clusters over the batch, 1, B) for the cluster filter. */
  filterDispatch: GPUBuffer;
}

export function allocateDbscanBuffers(rec: Recorder, batch: number, channels: number, chunkImages = batch): DbscanBuffers {
  const bytes = batch * channels * 4;
  const words = bitWords(channels);
  return {
    neighbours: rec.storage(chunkImages * channels * words * 4, 'dbscan neighbour bits'),
    coreBits: rec.zeroed(batch * words * 4, 'dbscan core bits'),
    core: rec.storage(bytes, 'dbscan core'),
    parent: rec.storage(bytes, 'dbscan parent'),
    root: rec.storage(bytes, 'dbscan root'),
    clusterOfRoot: rec.storage(bytes, 'dbscan cluster ids'),
    remainingLabel: rec.storage(bytes, 'dbscan labels'),
    filterDispatch: rec.indirectArgs([0, 1, batch], 'cluster filter dispatch'),
  };
}

/**
 * DBSCAN over each image's remaining channels with scikit-learn's labels: neighbour bit rows
 * and core points (the one pass over the distance matrix), connected components (a
 * breadth-first walk over the bits, one workgroup per image), border points, ids by root order. Writes cluster labels
 * into `labels` and cluster/noise counts into `state`.
 */
export function recordDbscan(
  rec: Recorder,
  pass: StagePass,
  inputs: { distances: GPUBuffer; state: GPUBuffer; remainingIndex: GPUBuffer; labels: GPUBuffer },
  scratch: DbscanBuffers,
  channels: number,
  chunk: ImageChunk,
): void {
  const params = rec.uniform([{ u32: channels }, { u32: chunk.offset }, { u32: bitWords(channels) }]);
  const perChannel: [number, number, number] = [Math.ceil(channels / WG), 1, chunk.count];
  const { distances, state } = inputs;
  const { neighbours, coreBits, core, parent } = scratch;
  rec.dispatch(pass, neighboursKernel, { WG }, [distances, state, neighbours, core, coreBits, parent, params], perChannel);
  rec.dispatch(pass, componentsKernel, { WG, WORDS: bitWords(channels) }, [neighbours, state, coreBits, parent, params], [chunk.count]);
  rec.dispatch(pass, resolveKernel, { WG }, [neighbours, state, core, coreBits, parent, scratch.root, params], perChannel);
  rec.dispatch(
    pass,
    numberKernel,
    { WG: 256 },
    [state, core, scratch.root, inputs.remainingIndex, inputs.labels, scratch.remainingLabel, scratch.clusterOfRoot, scratch.filterDispatch, params],
    [chunk.count],
  );
}
