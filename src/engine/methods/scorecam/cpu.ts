/**
 * Score-CAM on the CPU (shared/spec/cluscam.md, as pytorch-grad-cam's ScoreCAM), in float64:
 * each channel A_k upsampled bilinearly to the input size (align_corners = true, as ScoreCAM's
 * nn.UpsamplingBilinear2d; ClusCAM's masks use align_corners = false) and scaled by
 * (u - min) / (max - min + 1e-8); the class logit of x * A^_k scored by the model in batches;
 * w = softmax(scores); map = ReLU(sum_k w_k A_k) at layer resolution, then the Grad-CAM family's
 * post-processing (min-max, bilinear resize, min-max).
 *
 * channelMask serves ClusCAM too, which upsamples with align_corners = false and keeps a
 * constant channel as it is.
 */
import { NonFiniteInputError } from '../../errors.js';
import type { CamInput, CamOptions, CamResult, MaskedScorer } from '../../types.js';
import { gradcamPostprocess } from '../gradient-family/cpu.js';
import { resizeBilinear } from '../common/resize-cpu.js';

/** Masked copies scored per model call when options.scoreBatchSize is not given. */
export const DEFAULT_SCORE_BATCH = 16;

/** How a channel's upsampled values are scaled to [0,1] (see kernels/channel-masks.ts). */
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

/** softmax(values) in float64. */
export function softmax(values: ArrayLike<number>): Float64Array {
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) high = Math.max(high, values[i]);
  const out = new Float64Array(values.length);
  let total = 0;
  for (let i = 0; i < values.length; i++) total += out[i] = Math.exp(values[i] - high);
  for (let i = 0; i < values.length; i++) out[i] /= total;
  return out;
}

/** Score-CAM for every image of the batch (inputs validated by validateCamInput). */
export async function scoreCamCpu(input: CamInput, options: CamOptions = {}): Promise<CamResult> {
  const scorer = input.scorer!;
  const { batch: B, channels: C, height: h, width: w, outHeight: H, outWidth: W } = input.shape;
  const batchSize = options.scoreBatchSize ?? DEFAULT_SCORE_BATCH;
  const layer = h * w;
  const plane = H * W;
  const maps = new Float32Array(B * plane);
  for (let b = 0; b < B; b++) {
    const A = input.activations.subarray(b * C * layer, (b + 1) * C * layer);
    const x = scorer.inputs.subarray(b * 3 * plane, (b + 1) * 3 * plane);
    const scores = new Float64Array(C);
    for (let first = 0; first < C; first += batchSize) {
      const count = Math.min(batchSize, C - first);
      const masks = Array.from({ length: count }, (_, j) => channelMask(A.subarray((first + j) * layer, (first + j + 1) * layer), h, w, H, W, 'scorecam'));
      scores.set(await scoreMasked(scorer, maskInputs(x, masks, plane), count, b, first), first);
    }
    const weights = softmax(scores);
    const raw = new Float64Array(layer);
    for (let k = 0; k < C; k++) {
      const wk = weights[k];
      const base = k * layer;
      for (let p = 0; p < layer; p++) raw[p] += wk * A[base + p];
    }
    maps.set(gradcamPostprocess(raw, h, w, H, W), b * plane);
  }
  return { shape: { ...input.shape }, maps };
}
