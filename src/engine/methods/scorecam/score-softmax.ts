import source from './score_softmax.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';

const WG = 64;
const kernel: KernelDef = { name: 'score_softmax', source, bindings: ['read', 'write', 'uniform'] };

/** Softmax over channels of `scores` [batch, channels] into a new [batch, channels] buffer. */
export function recordScoreSoftmax(rec: Recorder, pass: StagePass, scores: GPUBuffer, dims: { batch: number; channels: number }): GPUBuffer {
  const weights = rec.storage(dims.batch * dims.channels * 4, 'score weights');
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.batch }]);
  rec.dispatch(pass, kernel, { WG }, [scores, weights, params], [Math.ceil(dims.batch / WG)]);
  return weights;
}
