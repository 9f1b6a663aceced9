import source from './cfcam_softmax.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { BufferBinding, Recorder, StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';

const WG = 256;
const kernel: KernelDef = {
  name: 'cfcam_softmax',
  source: withLibraries(source, 'reduce'),
  bindings: ['read', 'read', 'read', 'write', 'write', 'uniform'],
};

/** Pre-softmax weights (0 when dropped) and softmax weights alpha (0 when dropped), [B, C] each. */
export function recordCfcamSoftmax(
  rec: Recorder,
  pass: StagePass,
  inputs: { gradients: BufferBinding; labels: GPUBuffer; clusterWeights: GPUBuffer },
  dims: { batch: number; channels: number; pixels: number },
): { rawWeights: GPUBuffer; alpha: GPUBuffer } {
  const rawWeights = rec.storage(dims.batch * dims.channels * 4, 'cfcam weights');
  const alpha = rec.storage(dims.batch * dims.channels * 4, 'cfcam alpha');
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }]);
  rec.dispatch(pass, kernel, { WG }, [inputs.gradients, inputs.labels, inputs.clusterWeights, rawWeights, alpha, params], [dims.batch]);
  return { rawWeights, alpha };
}
