import source from './bilinear_resize.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type Recorder, type StagePass } from '../../gpu/recorder.js';

const WG = 256;
const kernel: KernelDef = { name: 'bilinear_resize', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'write', 'uniform'] };

export interface ResizeShape {
  batch: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
}

/** Bilinear resize (align_corners=false) of [B,inH,inW] into a new [B,outH,outW] buffer. */
export function recordBilinearResize(rec: Recorder, pass: StagePass, src: GPUBuffer, s: ResizeShape): GPUBuffer {
  const total = s.batch * s.outHeight * s.outWidth;
  const dst = rec.storage(total * 4, 'resized map');
  const params = rec.uniform([
    { u32: s.inHeight },
    { u32: s.inWidth },
    { u32: s.outHeight },
    { u32: s.outWidth },
    { f32: s.inHeight / s.outHeight },
    { f32: s.inWidth / s.outWidth },
    { u32: total },
  ]);
  rec.dispatch(pass, kernel, { WG }, [src, dst, params], workgroupGrid(Math.ceil(total / WG)));
  return dst;
}
