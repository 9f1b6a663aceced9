import source from './image_stats.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';

const WG = 64;
const kernel: KernelDef = { name: 'image_stats', source: withLibraries(source, 'reduce'), bindings: ['read', 'write', 'uniform'] };

/** Per-image (min, max) of `values` [batch, n] into a new [batch, 2] buffer. */
export function recordImageStats(rec: Recorder, pass: StagePass, values: GPUBuffer, batch: number, n: number): GPUBuffer {
  const stats = rec.storage(batch * 2 * 4, 'image stats');
  rec.dispatch(pass, kernel, { WG }, [values, stats, rec.uniform([{ u32: n }])], [batch]);
  return stats;
}
