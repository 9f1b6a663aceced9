import source from './cfcam_split.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';
import { IMAGE_STATE_BYTES } from './cfcam-state.js';
import { withLibraries } from '../../gpu/wgsl-library.js';

const WG = 256;
const kernel: KernelDef = {
  name: 'cfcam_split',
  source: withLibraries(source, 'imageState', 'scan'),
  bindings: ['read', 'read', 'write', 'write', 'write', 'uniform'],
};

export interface SplitOutputs {
  /** [B, C] int32: -2 important, -1 until DBSCAN labels the rest. */
  labels: GPUBuffer;
  /** [B, C] u32: channel index of the r-th remaining channel. */
  remainingIndex: GPUBuffer;
  /** [B] ImageState. */
  state: GPUBuffer;
}

/** Norm threshold, important/remaining split, and the eps-percentile ranks for each image. */
export function recordCfcamSplit(
  rec: Recorder,
  pass: StagePass,
  norms: GPUBuffer,
  sortedNorms: GPUBuffer,
  batch: number,
  channels: number,
): SplitOutputs {
  const labels = rec.storage(batch * channels * 4, 'cfcam labels');
  const remainingIndex = rec.storage(batch * channels * 4, 'remaining channels');
  const state = rec.storage(batch * IMAGE_STATE_BYTES, 'cfcam state');
  const params = rec.uniform([{ u32: channels }]);
  rec.dispatch(pass, kernel, { WG }, [norms, sortedNorms, labels, remainingIndex, state, params], [batch]);
  return { labels, remainingIndex, state };
}
