import source from './weighted_sum.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../gpu/recorder.js';

const WG = 128;
const kernel: KernelDef = { name: 'weighted_sum', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'write', 'uniform'] };

/** ReLU(sum_k weights[b,k] * A[b,k,:]) into a new [batch, pixels] buffer. */
export function recordWeightedSum(
  rec: Recorder,
  pass: StagePass,
  activations: BufferBinding,
  weights: GPUBuffer,
  dims: { batch: number; channels: number; pixels: number },
): GPUBuffer {
  const total = dims.batch * dims.pixels;
  const map = rec.storage(total * 4, 'layer map');
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }, { u32: total }]);
  rec.dispatch(pass, kernel, { WG }, [activations, weights, map, params], workgroupGrid(Math.ceil(total / WG)));
  return map;
}
