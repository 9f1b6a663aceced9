import gatherSource from './gather_remaining.wgsl?raw';
import distanceSource from './pairwise_distance.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { BufferBinding, Recorder, StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';

const WG = 64;
const gatherKernel: KernelDef = {
  name: 'gather_remaining',
  source: withLibraries(gatherSource, 'imageState'),
  bindings: ['read', 'read', 'read', 'write', 'uniform'],
};
const distanceKernel: KernelDef = {
  name: 'pairwise_distance',
  source: withLibraries(distanceSource, 'imageState'),
  bindings: ['read', 'read', 'write', 'uniform'],
};

/** A chunk of images [offset, offset + count) processed together (the distance buffer holds `count`). */
export interface ImageChunk {
  offset: number;
  count: number;
}

/** Pixel-major copy [B, pixels, C] of each image's remaining channels (for the distance kernel). */
export function recordGatherRemaining(
  rec: Recorder,
  pass: StagePass,
  inputs: { activations: BufferBinding; remainingIndex: GPUBuffer; state: GPUBuffer },
  dims: { batch: number; channels: number; pixels: number },
): GPUBuffer {
  const columns = rec.storage(dims.batch * dims.pixels * dims.channels * 4, 'remaining channels, pixel-major');
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }]);
  rec.dispatch(
    pass,
    gatherKernel,
    { WG },
    [inputs.activations, inputs.remainingIndex, inputs.state, columns, params],
    [Math.ceil(dims.channels / WG), dims.pixels, dims.batch],
  );
  return columns;
}

/** Distances between remaining channels into `distances` ([chunk.count, C, C]). */
export function recordPairwiseDistances(
  rec: Recorder,
  pass: StagePass,
  inputs: { columns: GPUBuffer; state: GPUBuffer; distances: GPUBuffer },
  dims: { channels: number; pixels: number },
  chunk: ImageChunk,
): void {
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }, { u32: chunk.offset }]);
  rec.dispatch(
    pass,
    distanceKernel,
    { WG },
    [inputs.columns, inputs.state, inputs.distances, params],
    [Math.ceil(dims.channels / WG), dims.channels, chunk.count],
  );
}
