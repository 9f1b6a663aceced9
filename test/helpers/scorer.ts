/**
 * Synthetic inputs for Score-CAM and ClusCAM: random layers and a deterministic MaskedScorer
 * whose "model" is a fixed random linear function of the masked input (plain TypeScript), so
 * GPU and CPU runs score exactly the same function.
 */
import type { CamShape, MaskedScorer } from '../../src/engine/types';
import { gaussian, prng } from './random';

/** Non-negative (ReLU-like) activations with smooth blobs; channel 1 of every image is constant, channel 2 all zero. */
export function randomLayer(shape: CamShape, seed: number): Float32Array {
  const rand = prng(seed);
  const { batch, channels, height, width } = shape;
  const plane = height * width;
  const out = new Float32Array(batch * channels * plane);
  for (let m = 0; m < batch * channels; m++) {
    const k = m % channels;
    const cy = rand() * height;
    const cx = rand() * width;
    const amp = 0.5 + 2 * rand();
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v = amp * Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 4) + 0.3 * gaussian(rand);
        if (k === 1) v = 0.75;
        if (k === 2) v = 0;
        out[m * plane + y * width + x] = Math.max(v, 0);
      }
    }
  }
  return out;
}

export interface SyntheticScorer extends MaskedScorer {
  /** Every call: image and count. */
  calls: { image: number; count: number }[];
}

/**
 * A scorer for B inputs [B,3,H,W]: logit of class c for input z = scale * sum_i v_c[i] z[i] + c,
 * v_c fixed Gaussian weights; base logits are those of the unmasked inputs.
 */
export function syntheticScorer(shape: CamShape, seed: number, classes = 3, scale = 4): SyntheticScorer {
  const { batch, outHeight, outWidth } = shape;
  const n = 3 * outHeight * outWidth;
  const rand = prng(seed);
  const inputs = new Float32Array(batch * n);
  for (let i = 0; i < inputs.length; i++) inputs[i] = gaussian(rand);
  const weights = Array.from({ length: classes }, () => Float64Array.from({ length: n }, () => (scale * gaussian(rand)) / Math.sqrt(n)));
  const classIndices = Int32Array.from({ length: batch }, (_, b) => (b * 2 + 1) % classes);
  const logit = (z: ArrayLike<number>, offset: number, c: number) => {
    let s = c;
    for (let i = 0; i < n; i++) s += weights[c][i] * z[offset + i];
    return s;
  };
  const baseLogits = Float32Array.from({ length: batch }, (_, b) => logit(inputs, b * n, classIndices[b]));
  const calls: { image: number; count: number }[] = [];
  return {
    inputs,
    classIndices,
    baseLogits,
    calls,
    async score(masked, count, image) {
      calls.push({ image, count });
      if (masked.length !== count * n) throw new Error(`scorer: ${masked.length} values for ${count} inputs`);
      return Float32Array.from({ length: count }, (_, j) => logit(masked, j * n, classIndices[image]));
    },
  };
}
