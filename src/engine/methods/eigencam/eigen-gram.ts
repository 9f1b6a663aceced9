import source from './eigen_gram.wgsl?raw';
import { DeviceLimitError } from '../../errors.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import type { Recorder, StagePass } from '../../gpu/recorder.js';

const TILE = 16;
const MAX_WORKGROUPS_PER_DIM = 65535;
const kernel: KernelDef = { name: 'eigen_gram', source, bindings: ['read', 'write', 'uniform'] };

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
  const tiles = Math.ceil(n / TILE);
  if (batch > MAX_WORKGROUPS_PER_DIM || tiles > MAX_WORKGROUPS_PER_DIM) {
    throw new DeviceLimitError(`Eigen-CAM on the GPU takes at most ${MAX_WORKGROUPS_PER_DIM} images per call; split the batch`);
  }
  const gram = rec.storage(batch * n * n * 4, 'eigen gram');
  const params = rec.uniform([
    { u32: n },
    { u32: byChannel ? pixels : channels },
    // Element (row i, reduction index r) of the [C, HW] image: channel rows are HW apart.
    { u32: byChannel ? pixels : 1 },
    { u32: byChannel ? 1 : pixels },
    { u32: channels * pixels },
  ]);
  rec.dispatch(pass, kernel, {}, [centred, gram, params], [tiles, tiles, batch]);
  return { gram, n };
}
