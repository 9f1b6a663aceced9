import histogramSource from './radix_histogram.wgsl?raw';
import selectSource from './radix_select.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';
import { withCfcamState } from './cfcam-state.js';
import type { ImageChunk } from './pairwise-distance.js';
import { HISTOGRAM_WORDS_PER_IMAGE, RADIX_BINS, RADIX_DIGITS } from './radix-digits.js';

const WG = 64;
/** Rows per thread (down one column); runs of equal digits within them cost one atomic. */
const SPAN = 32;
const histogramKernel: KernelDef = {
  name: 'radix_histogram',
  source: withCfcamState(histogramSource),
  bindings: ['read', 'read', 'write', 'uniform'],
};
const selectKernel: KernelDef = {
  name: 'radix_select',
  source: withCfcamState(selectSource),
  bindings: ['write', 'write', 'uniform'],
};

/** The zeroed histogram buffer for a chunk of `chunkImages` images (the select clears it after each pass). */
export function allocateEpsHistogram(rec: Recorder, chunkImages: number): GPUBuffer {
  return rec.zeroed(chunkImages * HISTOGRAM_WORDS_PER_IMAGE * 4, 'radix histogram');
}

/**
 * eps for each image of the chunk: the exact 25th percentile of its pairwise distances, by a
 * radix select over the float bits (no sort, no readback), then interpolated. The first
 * digit's histogram was counted by recordPairwiseDistances into `histogram`; the other two
 * digits each take one pass over the upper triangle.
 */
export function recordEpsPercentile(
  rec: Recorder,
  pass: StagePass,
  inputs: { distances: GPUBuffer; state: GPUBuffer; histogram: GPUBuffer },
  channels: number,
  chunk: ImageChunk,
): void {
  const grid: [number, number, number] = [Math.ceil(channels / WG), Math.ceil(channels / SPAN), chunk.count];
  RADIX_DIGITS.forEach(({ shift, bits }, index) => {
    const first = index === 0;
    const params = rec.uniform([{ u32: channels }, { u32: shift }, { u32: bits }, { u32: chunk.offset }, { u32: first ? 1 : 0 }]);
    if (!first) rec.dispatch(pass, histogramKernel, { WG, SPAN, BINS: RADIX_BINS }, [inputs.distances, inputs.state, inputs.histogram, params], grid);
    rec.dispatch(pass, selectKernel, { BINS: RADIX_BINS }, [inputs.histogram, inputs.state, params], [chunk.count]);
  });
}
