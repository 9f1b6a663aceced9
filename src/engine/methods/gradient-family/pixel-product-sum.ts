import source from './pixel_product_sum.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../gpu/recorder.js';

/** Methods whose map is a per-pixel sum over channels of gradient times activation. */
export type PixelProductMethod = 'layercam' | 'hirescam';

const WG = 128;
const kernel: KernelDef = { name: 'pixel_product_sum', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'write', 'uniform'] };

/** ReLU(sum_k f(g[b,k,:]) * A[b,k,:]) into a new [batch, pixels] buffer (f = ReLU for LayerCAM). */
export function recordPixelProductSum(
  rec: Recorder,
  pass: StagePass,
  method: PixelProductMethod,
  activations: BufferBinding,
  gradients: BufferBinding,
  dims: { batch: number; channels: number; pixels: number },
): GPUBuffer {
  const total = dims.batch * dims.pixels;
  const map = rec.storage(total * 4, `${method} map`);
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }, { u32: total }]);
  const defines = { WG, LAYERCAM: method === 'layercam' };
  rec.dispatch(pass, kernel, defines, [activations, gradients, map, params], workgroupGrid(Math.ceil(total / WG)));
  return map;
}
