import gatherSource from './gather_remaining.wgsl?raw';
import distanceSource from './pairwise_distance.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { BufferBinding, Recorder, StagePass } from '../../gpu/recorder.js';
import { withCfcamState } from './cfcam-state.js';
import { RADIX_BINS, RADIX_DIGITS } from './radix-digits.js';

const WG = 64;
const gatherKernel: KernelDef = {
  name: 'gather_remaining',
  source: withCfcamState(gatherSource),
  bindings: ['read', 'read', 'read', 'write', 'uniform'],
};
const distanceKernel: KernelDef = {
  name: 'pairwise_distance',
  source: withCfcamState(distanceSource),
  bindings: ['read', 'read', 'write', 'write', 'uniform'],
};
/** Channels per side of one invocation's block of pairs (two vec4s of rows, two of columns). */
const BLOCK = 8;
/** The pixel-major copy's row stride: C rounded up to whole blocks, so every vec4 an invocation loads lies in its pixel row. */
const paddedChannels = (channels: number) => Math.ceil(channels / BLOCK) * BLOCK;

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
  const padded = paddedChannels(dims.channels);
  const columns = rec.storage(dims.batch * dims.pixels * padded * 4, 'remaining channels, pixel-major');
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }, { u32: padded }]);
  rec.dispatch(
    pass,
    gatherKernel,
    { WG },
    [inputs.activations, inputs.remainingIndex, inputs.state, columns, params],
    [Math.ceil(dims.channels / WG), dims.pixels, dims.batch],
  );
  return columns;
}

/**
 * Distances between remaining channels into `distances` ([chunk.count, C, C], both halves),
 * and the first radix-select digit histogram of the upper triangle into `histogram`
 * (see radix-select.ts: it must be zero before, and recordEpsPercentile consumes it).
 */
export function recordPairwiseDistances(
  rec: Recorder,
  pass: StagePass,
  inputs: { columns: GPUBuffer; state: GPUBuffer; distances: GPUBuffer; histogram: GPUBuffer },
  dims: { channels: number; pixels: number },
  chunk: ImageChunk,
): void {
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }, { u32: chunk.offset }, { u32: paddedChannels(dims.channels) }]);
  const blocks = Math.ceil(dims.channels / BLOCK);
  rec.dispatch(
    pass,
    distanceKernel,
    { WG, FIRST_BITS: RADIX_DIGITS[0].bits, BINS: RADIX_BINS },
    [inputs.columns, inputs.state, inputs.distances, inputs.histogram, params],
    [Math.ceil(blocks / WG), blocks, chunk.count],
  );
}
