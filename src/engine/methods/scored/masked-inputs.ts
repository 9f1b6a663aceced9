import source from './masked_inputs.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../gpu/recorder.js';

const WG = 256;
const kernel: KernelDef = { name: 'masked_inputs', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'write', 'uniform'] };

/**
 * x * M_j for masks j in [first, first + count) of `masks` [*, H, W] and image `image` of
 * `inputs` [B, 3, H, W]: a new [count, 3, H, W] buffer (the mask broadcast over RGB).
 */
export function recordMaskedInputs(
  rec: Recorder,
  pass: StagePass,
  inputs: BufferBinding,
  masks: BufferBinding,
  s: { height: number; width: number },
  range: { image: number; first: number; count: number },
): GPUBuffer {
  const plane = s.height * s.width;
  const total = range.count * plane;
  const out = rec.storage(total * 3 * 4, 'masked inputs');
  const params = rec.uniform([{ u32: range.image * 3 * plane }, { u32: range.first * plane }, { u32: plane }, { u32: total }]);
  rec.dispatch(pass, kernel, { WG }, [inputs, masks, out, params], workgroupGrid(Math.ceil(total / WG)));
  return out;
}
