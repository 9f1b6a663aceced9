import meanSource from './cluster_mean.wgsl?raw';
import filterSource from './cluster_filter.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../gpu/recorder.js';
import type { BilateralParams, CfcamMode } from '../../types.js';
import { withLibraries } from '../../gpu/wgsl-library.js';
// One definition of OpenCV's radius rule (cvRound rounds halves to even) for both backends.
import { bilateralRadius } from './filters-cpu.js';

const WG = 64;
const FILTER_WG = 64;
const meanKernel: KernelDef = {
  name: 'cluster_mean',
  source: withLibraries(meanSource, 'flatIndex', 'imageState'),
  bindings: ['read', 'read', 'read', 'read', 'write', 'uniform'],
};
const filterKernel: KernelDef = {
  name: 'cluster_filter',
  source: withLibraries(filterSource, 'imageState', 'reduce'),
  bindings: ['read', 'read', 'write', 'write', 'uniform'],
};

/**
 * Each cluster's mean gradient map, filtered (mode `reference` or `bilateral`), reduced to
 * the cluster's weight: [B, C] where slot j holds cluster j's weight.
 */
export function recordClusterWeights(
  rec: Recorder,
  pass: StagePass,
  inputs: {
    gradients: BufferBinding;
    state: GPUBuffer;
    remainingIndex: GPUBuffer;
    remainingLabel: GPUBuffer;
    /** Indirect arguments (max clusters, 1, B) written by DBSCAN. */
    filterDispatch: GPUBuffer;
  },
  dims: { batch: number; channels: number; height: number; width: number },
  mode: CfcamMode,
  bilateral: BilateralParams,
): GPUBuffer {
  const { batch, channels, height, width } = dims;
  const pixels = height * width;
  const clusterGradient = rec.storage(batch * channels * pixels * 4, 'cluster gradients');
  const scratch = rec.storage(batch * channels * pixels * 4, 'cluster filter scratch');
  const weights = rec.storage(batch * channels * 4, 'cluster weights');
  const meanParams = rec.uniform([{ u32: channels }, { u32: pixels }]);
  const [x, y] = workgroupGrid(Math.ceil((channels * pixels) / WG));
  rec.dispatch(
    pass,
    meanKernel,
    { WG },
    [inputs.gradients, inputs.state, inputs.remainingIndex, inputs.remainingLabel, clusterGradient, meanParams],
    [x, y, batch],
  );
  // OpenCV replaces non-positive sigmas by 1.
  const sigmaColor = bilateral.sigmaColor > 0 ? bilateral.sigmaColor : 1;
  const sigmaSpace = bilateral.sigmaSpace > 0 ? bilateral.sigmaSpace : 1;
  const filterParams = rec.uniform([
    { u32: channels },
    { u32: height },
    { u32: width },
    { i32: bilateralRadius(bilateral.d, bilateral.sigmaSpace) },
    { f32: sigmaColor },
    { f32: sigmaSpace },
  ]);
  // One workgroup per (cluster, image); the cluster count is known only on the GPU.
  rec.dispatchIndirect(
    pass,
    filterKernel,
    { WG: FILTER_WG, REFERENCE: mode === 'reference' },
    [clusterGradient, inputs.state, scratch, weights, filterParams],
    inputs.filterDispatch,
  );
  return weights;
}
