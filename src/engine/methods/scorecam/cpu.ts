/**
 * Score-CAM on the CPU (shared/spec/cluscam.md, as pytorch-grad-cam's ScoreCAM), in float64:
 * each channel A_k upsampled bilinearly to the input size (align_corners = true, as ScoreCAM's
 * nn.UpsamplingBilinear2d; ClusCAM's masks use align_corners = false) and scaled by
 * (u - min) / (max - min + 1e-8); the class logit of x * A^_k scored by the model in batches;
 * w = softmax(scores); map = ReLU(sum_k w_k A_k) at layer resolution, then the Grad-CAM family's
 * post-processing (min-max, bilinear resize, min-max).
 */
import type { CamInput, CamOptions, CamResult } from '../../types.js';
import { channelMask, DEFAULT_SCORE_BATCH, maskInputs, scoreMasked } from '../scored/masks-cpu.js';
import { gradcamPostprocess } from '../common/postprocess-cpu.js';
import { softmax } from '../common/softmax.js';

/** Score-CAM for every image of the batch (inputs validated by validateCamInput). */
export async function scorecamCpu(input: CamInput, options: CamOptions = {}): Promise<CamResult> {
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
