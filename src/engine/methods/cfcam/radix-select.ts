import histogramSource from './radix_histogram.wgsl?raw';
import selectSource from './radix_select.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { ImageChunk } from './pairwise-distance.js';

const WG = 64;
/** Rows per thread (down one column); runs of equal digits within them cost one atomic. */
const SPAN = 32;
const histogramKernel: KernelDef = {
  name: 'radix_histogram',
  source: withLibraries(histogramSource, 'imageState'),
  bindings: ['read', 'read', 'write', 'uniform'],
};
const selectKernel: KernelDef = {
  name: 'radix_select',
  source: withLibraries(selectSource, 'imageState'),
  bindings: ['write', 'write', 'uniform'],
};

/**
 * eps for each image of the chunk: the exact 25th percentile of its pairwise distances, by
 * four 8-bit radix-select passes over the float bits (no sort, no readback), then interpolated.
 */
export function recordEpsPercentile(
  rec: Recorder,
  pass: StagePass,
  inputs: { distances: GPUBuffer; state: GPUBuffer; histogram: GPUBuffer },
  channels: number,
  chunk: ImageChunk,
): void {
  const grid: [number, number, number] = [Math.ceil(channels / WG), Math.ceil(channels / SPAN), chunk.count];
  for (const shift of [24, 16, 8, 0]) {
    const params = rec.uniform([{ u32: channels }, { u32: shift }, { u32: chunk.offset }]);
    rec.dispatch(pass, histogramKernel, { WG, SPAN }, [inputs.distances, inputs.state, inputs.histogram, params], grid);
    rec.dispatch(pass, selectKernel, {}, [inputs.histogram, inputs.state, params], [chunk.count]);
  }
}
