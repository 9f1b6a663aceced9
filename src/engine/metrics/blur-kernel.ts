import source from './blur.wgsl?raw';
import type { KernelDef } from '../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../gpu/recorder.js';

const WG = 256;
const kernel: KernelDef = { name: 'metrics_blur', source, bindings: ['read', 'read', 'write', 'uniform'] };

/** One axis (0: x, 1: y) of the separable zero-padded Gaussian blur of a [3, H, W] image. */
export function recordBlurAxis(
  rec: Recorder,
  pass: StagePass,
  src: BufferBinding,
  taps: BufferBinding,
  size: { height: number; width: number },
  axis: 0 | 1,
  radius: number,
): GPUBuffer {
  const total = 3 * size.height * size.width;
  const out = rec.storage(total * 4, `blur axis ${axis}`);
  const params = rec.uniform([{ u32: size.height }, { u32: size.width }, { u32: axis }, { u32: radius }]);
  rec.dispatch(pass, kernel, { WG }, [src, taps, out, params], workgroupGrid(Math.ceil(total / WG)));
  return out;
}
