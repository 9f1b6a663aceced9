/**
 * The masked-forward methods' CPU pieces (Score-CAM, ClusCAM): channel masks, masked inputs and
 * checked model scores. The GPU twins are channel-masks.ts and masked-inputs.ts.
 */
import { NonFiniteInputError } from '../../errors.js';
import type { MaskedScorer } from '../../types.js';
import { resizeBilinear } from '../common/resize-cpu.js';

/** Masked copies scored per model call when options.scoreBatchSize is not given. */
export const DEFAULT_SCORE_BATCH = 16;

/** How a channel's upsampled values are scaled to [0,1] (see channel-masks.ts). */
export type MaskNorm = 'scorecam' | 'cluscam';

/**
 * The normalised mask of one channel [h*w] at outH x outW (float64):
 * 'scorecam': upsampled with align_corners = true, then (u - min) / (max - min + 1e-8);
 * 'cluscam': upsampled with align_corners = false, then (u - min) / (max - min), unchanged
 * when the upsampled channel is constant.
 */
export function channelMask(channel: ArrayLike<number>, h: number, w: number, outH: number, outW: number, norm: MaskNorm): Float64Array {
  const u = resizeBilinear(channel, h, w, outH, outW, norm === 'scorecam');
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of u) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (norm === 'cluscam' && hi === lo) return u;
  const scale = norm === 'scorecam' ? 1 / (hi - lo + 1e-8) : 1 / (hi - lo);
  for (let i = 0; i < u.length; i++) u[i] = (u[i] - lo) * scale;
  return u;
}

/** x * mask for `count` masks [count, H*W] (float64) of one input x [3, H*W]: [count, 3, H, W] float32. */
export function maskInputs(x: ArrayLike<number>, masks: readonly ArrayLike<number>[], plane: number): Float32Array {
  const out = new Float32Array(masks.length * 3 * plane);
  masks.forEach((m, j) => {
    for (let ch = 0; ch < 3; ch++) {
      const o = (j * 3 + ch) * plane;
      const xo = ch * plane;
      for (let p = 0; p < plane; p++) out[o + p] = x[xo + p] * m[p];
    }
  });
  return out;
}

/**
 * Run `scorer` on `count` masked inputs of image `image`, checking what comes back: `count`
 * finite logits (a copy).
 */
export async function scoreMasked(scorer: MaskedScorer, masked: Float32Array, count: number, image: number, first: number): Promise<Float32Array> {
  const scores = await scorer.score(masked, count, image);
  if (!scores || scores.length < count) {
    throw new NonFiniteInputError(`the scorer returned ${scores?.length ?? 0} logits for ${count} masked inputs of image ${image}; it must return one per masked input`);
  }
  for (let j = 0; j < count; j++) {
    if (!Number.isFinite(scores[j])) {
      throw new NonFiniteInputError(`the model gave a logit of ${scores[j]} for masked input ${first + j} of image ${image}; check the model and its input normalisation`);
    }
  }
  return Float32Array.from(scores.subarray(0, count));
}
