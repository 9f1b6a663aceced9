import source from './preprocess.wgsl?raw';
import { withLibraries } from '../gpu/wgsl-library.js';
import type { KernelDef } from '../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../gpu/recorder.js';
import type { PreprocessPlan } from './preprocess-cpu.js';

const WG = 256;
const kernel: KernelDef = { name: 'preprocess', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'write', 'uniform'] };

/**
 * Resize + normalise packed RGBA8 pixels (`src`: u32 per pixel, rows `inStrideWords` apart)
 * into float32 NCHW planes [3, outH, outW] of `dst`, starting at float index `dstBase`.
 */
export function recordPreprocessKernel(
  rec: Recorder,
  pass: StagePass,
  src: BufferBinding,
  dst: BufferBinding,
  plan: PreprocessPlan,
  inStrideWords: number,
  dstBase = 0,
): void {
  const params = rec.uniform([
    { u32: plan.inHeight },
    { u32: plan.inWidth },
    { u32: inStrideWords },
    { u32: plan.outHeight },
    { u32: plan.outWidth },
    { u32: plan.resizedHeight },
    { u32: plan.resizedWidth },
    { u32: plan.offsetY },
    { u32: plan.offsetX },
    { u32: dstBase },
    { f32: plan.mean[0] },
    { f32: plan.mean[1] },
    { f32: plan.mean[2] },
    { f32: plan.std[0] },
    { f32: plan.std[1] },
    { f32: plan.std[2] },
  ]);
  const pixels = plan.outHeight * plan.outWidth;
  rec.dispatch(pass, kernel, { WG }, [src, dst, params], workgroupGrid(Math.ceil(pixels / WG)));
}
