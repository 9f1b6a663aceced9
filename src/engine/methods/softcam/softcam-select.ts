import source from './softcam_select.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../gpu/recorder.js';

const WG = 256;
const kernel: KernelDef = { name: 'softcam_select', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'write', 'uniform'] };

export interface SelectDims {
  batch: number;
  channels: number;
  pixels: number;
}

/**
 * Soft-CAM: copy channel `classIndices[b]` of each image of `evidence` [B,C,pixels] into a new
 * [B,pixels] buffer (signed values, unchanged). `classIndices` is a u32 buffer of length B.
 */
export function recordSoftcamSelect(
  rec: Recorder,
  pass: StagePass,
  evidence: BufferBinding,
  classIndices: GPUBuffer,
  d: SelectDims,
): GPUBuffer {
  const total = d.batch * d.pixels;
  const selected = rec.storage(total * 4, 'softcam evidence');
  const params = rec.uniform([{ u32: d.channels }, { u32: d.pixels }, { u32: total }]);
  rec.dispatch(pass, kernel, { WG }, [evidence, classIndices, selected, params], workgroupGrid(Math.ceil(total / WG)));
  return selected;
}
