import source from './channel_norms.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { BufferBinding, Recorder, StagePass } from '../../gpu/recorder.js';

const WG = 64;
const kernel: KernelDef = { name: 'channel_norms', source, bindings: ['read', 'write', 'uniform'] };

/** L2 norm of every channel: [B, C] from activations [B, C, pixels]. */
export function recordChannelNorms(
  rec: Recorder,
  pass: StagePass,
  activations: BufferBinding,
  dims: { batch: number; channels: number; pixels: number },
): GPUBuffer {
  const norms = rec.storage(dims.batch * dims.channels * 4, 'channel norms');
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }]);
  rec.dispatch(pass, kernel, { WG }, [activations, norms, params], [Math.ceil(dims.channels / WG), 1, dims.batch]);
  return norms;
}
