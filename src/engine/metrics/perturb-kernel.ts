import source from './perturb.wgsl?raw';
import type { KernelDef } from '../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../gpu/recorder.js';

const WG = 256;
const kernel: KernelDef = { name: 'metrics_perturb', source, bindings: ['read', 'read', 'read', 'read', 'write', 'uniform'] };

/** How a perturbed copy picks each pixel (see perturb.wgsl). */
export const PERTURB_MODE = { keepAbove: 0, keepBelow: 1, soft: 2 } as const;
export type PerturbMode = keyof typeof PERTURB_MODE;

/**
 * `count` perturbed copies [count, 3, H, W] of the image `x` [3, H, W]: pixel p of copy j is
 * x or `base` by comparing key[p] with thresholds[j] (binary modes), or their blend with
 * weight key[p] (soft mode).
 */
export function recordPerturb(
  rec: Recorder,
  pass: StagePass,
  buffers: { x: BufferBinding; base: BufferBinding; key: BufferBinding; thresholds: BufferBinding },
  plane: number,
  count: number,
  mode: PerturbMode,
): GPUBuffer {
  const total = count * plane;
  const out = rec.storage(total * 3 * 4, 'perturbed inputs');
  const params = rec.uniform([{ u32: plane }, { u32: total }, { u32: PERTURB_MODE[mode] }]);
  rec.dispatch(pass, kernel, { WG }, [buffers.x, buffers.base, buffers.key, buffers.thresholds, out, params], workgroupGrid(Math.ceil(total / WG)));
  return out;
}
