import source from './channel_masks.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../gpu/recorder.js';

const WG = 256;
const STATS_WG = 64;
const statsKernel: KernelDef = { name: 'channel_mask_stats', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'write', 'uniform'] };
const masksKernel: KernelDef = { name: 'channel_masks', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'write', 'uniform'] };
const maskedKernel: KernelDef = { name: 'channel_masked_inputs', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'read', 'write', 'uniform'] };

/**
 * How a channel's upsampled values u are scaled to [0,1]:
 * - 'scorecam': (u - min) / (max - min + 1e-8), pytorch-grad-cam's Score-CAM;
 * - 'cluscam': (u - min) / (max - min), a constant channel kept as it is (ClusCAM's reference).
 */
export type ChannelMaskNorm = 'scorecam' | 'cluscam';

export interface ChannelMaskShape {
  /** Channels per image and the layer's height and width. */
  channels: number;
  height: number;
  width: number;
  /** The mask (model input) size. */
  outHeight: number;
  outWidth: number;
}

export interface ChannelRange {
  image: number;
  first: number;
  count: number;
}

/**
 * The output samples along one axis (in -> out, either convention) where the upsampled
 * values can be extreme: the first and last sample of every source cell (the interpolation is
 * linear in between, constant in the clamped borders). A sample within float rounding of a cell
 * boundary comes with its neighbours, so that the GPU's float32 rounding of the boundary cannot
 * leave an extreme sample out.
 */
export function extremeSamples(inSize: number, outSize: number, alignCorners = false): number[] {
  const scale = Math.fround(axisScale(inSize, outSize, alignCorners));
  const source = (d: number) => (alignCorners ? d * scale : Math.max((d + 0.5) * scale - 0.5, 0));
  const tap = (d: number) => Math.min(Math.floor(source(d)), inSize - 1);
  const keep = new Uint8Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const t = tap(d);
    if (d === 0 || d === outSize - 1 || tap(d - 1) !== t || tap(d + 1) !== t) keep[d] = 1;
    const s = source(d);
    if (s > 0 && Math.abs(s - Math.round(s)) < 1e-3) {
      for (let e = Math.max(0, d - 1); e <= Math.min(outSize - 1, d + 1); e++) keep[e] = 1;
    }
  }
  const out: number[] = [];
  keep.forEach((k, d) => k && out.push(d));
  return out;
}

/** Source step per output pixel: in/out, or (in - 1)/(out - 1) with align_corners = true. */
function axisScale(inSize: number, outSize: number, alignCorners: boolean): number {
  if (!alignCorners) return inSize / outSize;
  return outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
}

/** Score-CAM's masks follow pytorch-grad-cam (nn.UpsamplingBilinear2d: align_corners = true); ClusCAM's do not. */
const alignsCorners = (norm: ChannelMaskNorm) => norm === 'scorecam';

function params(rec: Recorder, s: ChannelMaskShape, range: ChannelRange, align: boolean, extra: { rows?: number; cols?: number; inputBase?: number; total: number }): GPUBuffer {
  return rec.uniform([
    { u32: (range.image * s.channels + range.first) * s.height * s.width },
    { u32: s.height },
    { u32: s.width },
    { u32: s.outHeight },
    { u32: s.outWidth },
    { f32: axisScale(s.height, s.outHeight, align) },
    { f32: axisScale(s.width, s.outWidth, align) },
    { u32: extra.total },
    { u32: extra.rows ?? 0 },
    { u32: extra.cols ?? 0 },
    { u32: extra.inputBase ?? 0 },
    { u32: align ? 1 : 0 },
  ]);
}

/**
 * Per-channel (min, max) of the upsampled channels of `range` into a new [count, 2] buffer:
 * one thread per channel, evaluating only the samples where the extremes can be.
 */
export function recordChannelMaskStats(rec: Recorder, pass: StagePass, activations: BufferBinding, s: ChannelMaskShape, range: ChannelRange, norm: ChannelMaskNorm): GPUBuffer {
  const align = alignsCorners(norm);
  const rows = extremeSamples(s.height, s.outHeight, align);
  const cols = extremeSamples(s.width, s.outWidth, align);
  const samples = rec.storage((rows.length + cols.length) * 4, 'channel mask samples');
  rec.device.queue.writeBuffer(samples, 0, Uint32Array.from([...rows, ...cols]));
  const stats = rec.storage(range.count * 2 * 4, 'channel mask stats');
  const uniforms = params(rec, s, range, align, { rows: rows.length, cols: cols.length, total: range.count });
  rec.dispatch(pass, statsKernel, { WG: STATS_WG, STATS: true, MASKED: false, SCORECAM: false }, [activations, samples, stats, uniforms], workgroupGrid(Math.ceil(range.count / STATS_WG)));
  return stats;
}

/**
 * Masks [count, outH, outW] of channels [first, first + count) of image `image` of
 * `activations` [B, C, h, w]: bilinear upsampling (align_corners = true for Score-CAM, false for
 * ClusCAM) and per-channel
 * min-max normalisation. Two dispatches in `pass` (stats, then one thread per mask value).
 * Writes into `target` (at least count * outH * outW floats), or a new recorder temporary.
 */
export function recordChannelMasks(
  rec: Recorder,
  pass: StagePass,
  activations: BufferBinding,
  s: ChannelMaskShape,
  range: ChannelRange,
  norm: ChannelMaskNorm,
  target?: GPUBuffer,
): GPUBuffer {
  const total = range.count * s.outHeight * s.outWidth;
  const masks = target ?? rec.storage(total * 4, 'channel masks');
  const stats = recordChannelMaskStats(rec, pass, activations, s, range, norm);
  const uniforms = params(rec, s, range, alignsCorners(norm), { total });
  rec.dispatch(pass, masksKernel, { WG, STATS: false, MASKED: false, SCORECAM: norm === 'scorecam' }, [activations, stats, masks, uniforms], workgroupGrid(Math.ceil(total / WG)));
  return masks;
}

/**
 * The masked model inputs x * M_k [count, 3, outH, outW] for the channel masks of `range`
 * (x: image `range.image` of `inputs` [B, 3, outH, outW]), without storing the masks: stats,
 * then one thread per mask value writing its three colour channels. Same values as
 * recordChannelMasks followed by recordMaskedInputs.
 */
export function recordChannelMaskedInputs(
  rec: Recorder,
  pass: StagePass,
  activations: BufferBinding,
  inputs: BufferBinding,
  s: ChannelMaskShape,
  range: ChannelRange,
  norm: ChannelMaskNorm,
): GPUBuffer {
  const plane = s.outHeight * s.outWidth;
  const total = range.count * plane;
  const out = rec.storage(total * 3 * 4, 'masked inputs');
  const stats = recordChannelMaskStats(rec, pass, activations, s, range, norm);
  const uniforms = params(rec, s, range, alignsCorners(norm), { total, inputBase: range.image * 3 * plane });
  rec.dispatch(pass, maskedKernel, { WG, STATS: false, MASKED: true, SCORECAM: norm === 'scorecam' }, [activations, stats, inputs, out, uniforms], workgroupGrid(Math.ceil(total / WG)));
  return out;
}
