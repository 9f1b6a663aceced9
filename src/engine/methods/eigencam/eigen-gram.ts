import source from './eigen_gram.wgsl?raw';
import { DeviceLimitError } from '../../errors.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type Recorder, type StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';

const WG = 64;
/** Each invocation computes a BLOCK x BLOCK block of one image's Gram matrix. */
const BLOCK = 4;
const kernel: KernelDef = { name: 'eigen_gram', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'write', 'uniform'] };

/** Which Gram matrix of the centred (HW x C) matrix X: the smaller of X^T X and X X^T. */
export function gramSide(channels: number, pixels: number): 'channels' | 'pixels' {
  return channels <= pixels ? 'channels' : 'pixels';
}

/** Per-image Gram matrix of the smaller side of `centred` into a new [batch, n, n] buffer. */
export function recordEigenGram(
  rec: Recorder,
  pass: StagePass,
  centred: GPUBuffer,
  dims: { batch: number; channels: number; pixels: number },
): { gram: GPUBuffer; n: number } {
  const { batch, channels, pixels } = dims;
  const byChannel = gramSide(channels, pixels) === 'channels';
  const n = byChannel ? channels : pixels;
  const blocks = Math.ceil(n / BLOCK) ** 2;
  const invocations = batch * blocks;
  if (invocations > 2 ** 32 - WG) throw new DeviceLimitError(`Eigen-CAM on the GPU: ${batch} Gram matrices of ${n} x ${n} are too many for one call; split the batch`);
  const gram = rec.storage(batch * n * n * 4, 'eigen gram');
  const params = rec.uniform([
    { u32: n },
    { u32: byChannel ? pixels : channels },
    // Element (row i, reduction index r) of the [C, HW] image: channel rows are HW apart.
    { u32: byChannel ? pixels : 1 },
    { u32: byChannel ? 1 : pixels },
    { u32: channels * pixels },
    { u32: batch },
  ]);
  rec.dispatch(pass, kernel, { WG }, [centred, gram, params], workgroupGrid(Math.ceil(invocations / WG)));
  return { gram, n };
}
