import type { CamInput } from '../engine/types.js';

/** A deterministic synthetic layer with a bright blob per channel, so the map has something to find. */
export function syntheticInput(channels = 256, size = 7, outSize = 224): CamInput {
  const pixels = size * size;
  const activations = new Float32Array(channels * pixels);
  const gradients = new Float32Array(channels * pixels);
  let seed = 12345;
  const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let k = 0; k < channels; k++) {
    const cy = 2 + random() * 2;
    const cx = 2 + random() * 3;
    for (let p = 0; p < pixels; p++) {
      const y = Math.floor(p / size);
      const x = p % size;
      activations[k * pixels + p] = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 2) * (1 + random()) + 0.1 * random();
      gradients[k * pixels + p] = (random() - 0.3) * 1e-3;
    }
  }
  return { shape: { batch: 1, channels, height: size, width: size, outHeight: outSize, outWidth: outSize }, activations, gradients };
}
