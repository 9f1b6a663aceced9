import source from './rank_sort.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';

const WG = 128;
const kernel: KernelDef = { name: 'rank_sort', source, bindings: ['read', 'write', 'uniform'] };

/** Ascending sort of each image's `count` values ([batch, count]) into a new buffer. */
export function recordRankSort(rec: Recorder, pass: StagePass, values: GPUBuffer, batch: number, count: number): GPUBuffer {
  const sorted = rec.storage(batch * count * 4, 'sorted values');
  rec.dispatch(pass, kernel, { WG }, [values, sorted, rec.uniform([{ u32: count }])], [Math.ceil(count / WG), 1, batch]);
  return sorted;
}
