import source from './channel_weights.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../gpu/recorder.js';

/** Methods whose map is sum_k w_k A_k with one weight per channel from the gradients. */
export type ChannelWeightMethod = 'gradcam' | 'gradcampp' | 'xgradcam';

// One thread per (image, channel).
const WG = 64;
const kernel: KernelDef = { name: 'channel_weights', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'write', 'uniform'] };

/** Per-(image, channel) weights of `method` into a new [batch, channels] buffer. */
export function recordChannelWeights(
  rec: Recorder,
  pass: StagePass,
  method: ChannelWeightMethod,
  activations: BufferBinding,
  gradients: BufferBinding,
  dims: { batch: number; channels: number; pixels: number },
): GPUBuffer {
  const total = dims.batch * dims.channels;
  const weights = rec.storage(total * 4, `${method} weights`);
  const params = rec.uniform([{ u32: dims.pixels }, { u32: total }]);
  const defines = {
    WG,
    GRADCAM: method === 'gradcam',
    GRADCAMPP: method === 'gradcampp',
    XGRADCAM: method === 'xgradcam',
  };
  rec.dispatch(pass, kernel, defines, [activations, gradients, weights, params], workgroupGrid(Math.ceil(total / WG)));
  return weights;
}
