import source from '../../shaders/pairwise_distance.wgsl?raw';
import type { KernelDef } from '../gpu/pipelines.js';
import type { BufferBinding, Recorder } from '../gpu/recorder.js';
import { withImageState } from './cfcam-state.js';

const TILE = 16;
const kernel: KernelDef = {
  name: 'pairwise_distance',
  source: withImageState(source),
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
  pass: GPUComputePassEncoder,
  inputs: { activations: BufferBinding; remainingIndex: GPUBuffer; state: GPUBuffer; distances: GPUBuffer },
  dims: { channels: number; pixels: number },
  chunk: ImageChunk,
): void {
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }, { u32: chunk.offset }]);
  const tiles = Math.ceil(dims.channels / TILE);
  rec.dispatch(
    pass,
    kernel,
    {},
    [inputs.activations, inputs.remainingIndex, inputs.state, inputs.distances, params],
    [tiles, tiles, chunk.count],
  );
}
