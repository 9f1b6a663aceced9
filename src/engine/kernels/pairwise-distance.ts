import source from '../../shaders/pairwise_distance.wgsl?raw';
import type { KernelDef } from '../gpu/pipelines.js';
import type { BufferBinding, Recorder, StagePass } from '../gpu/recorder.js';
import { withLibraries } from './wgsl-library.js';

const WG = 64;
/** Columns per thread: A_i is loaded once for this many pairs. */
const SPAN = 4;
const kernel: KernelDef = {
  name: 'pairwise_distance',
  source: withLibraries(source, 'imageState'),
  bindings: ['read', 'read', 'read', 'write', 'uniform'],
};

/** A chunk of images [offset, offset + count) processed together (the distance buffer holds `count`). */
export interface ImageChunk {
  offset: number;
  count: number;
}

/** Distances between remaining channels into `distances` ([chunk.count, C, C]). */
export function recordPairwiseDistances(
  rec: Recorder,
  pass: StagePass,
  inputs: { activations: BufferBinding; remainingIndex: GPUBuffer; state: GPUBuffer; distances: GPUBuffer },
  dims: { channels: number; pixels: number },
  chunk: ImageChunk,
): void {
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }, { u32: chunk.offset }]);
  rec.dispatch(
    pass,
    kernel,
    { WG, SPAN },
    [inputs.activations, inputs.remainingIndex, inputs.state, inputs.distances, params],
    [Math.ceil(dims.channels / (WG * SPAN)), dims.channels, chunk.count],
  );
}
