/**
 * The CPU reference: every method in plain TypeScript, image by image. It is the backend of
 * `createCamEngine({ backend: 'cpu' })` and the yardstick the GPU kernels are tested against.
 * Inputs are assumed validated (validateCamInput).
 */
import { InvalidOptionError } from '../errors.js';
import type { CamInput, CamMethod, CamOptions, CamResult, CfcamDetails } from '../types.js';
import { cfcamImage } from './cfcam/cpu.js';
import { eigencamMap } from './eigencam/cpu.js';
import { gradientFamilyMap } from './gradient-family/cpu.js';
import { softcamCpu } from './softcam/cpu.js';

export { cfcamImage } from './cfcam/cpu.js';
export { eigencamMap } from './eigencam/cpu.js';
export { gradientFamilyMap } from './gradient-family/cpu.js';
export { softcamCpu, softcamImage } from './softcam/cpu.js';

/** Compute `method` for every image of the batch; maps are [B, outHeight, outWidth] float32. */
export function computeCamCpu(method: CamMethod, input: CamInput, options: CamOptions = {}): CamResult {
  const { batch: B, channels: C, height: H, width: W, outHeight, outWidth } = input.shape;
  const imageSize = C * H * W;
  const mapSize = outHeight * outWidth;
  const maps = new Float32Array(B * mapSize);
  const activationsOf = (b: number) => input.activations.subarray(b * imageSize, (b + 1) * imageSize);
  const gradientsOf = (b: number) => {
    if (!input.gradients) throw new Error(`method ${method} needs gradients`);
    return input.gradients.subarray(b * imageSize, (b + 1) * imageSize);
  };

  if (method === 'cfcam') {
    const details: CfcamDetails = {
      labels: new Int32Array(B * C),
      weights: new Float32Array(B * C),
      eps: new Float32Array(B),
      normThreshold: new Float32Array(B),
      minSamples: new Int32Array(B),
      clusters: new Int32Array(B),
      important: new Int32Array(B),
      noise: new Int32Array(B),
    };
    for (let b = 0; b < B; b++) {
      const r = cfcamImage(activationsOf(b), gradientsOf(b), C, H, W, outHeight, outWidth, options);
      maps.set(r.map, b * mapSize);
      details.labels.set(r.labels, b * C);
      details.weights.set(r.weights, b * C);
      details.eps[b] = r.eps;
      details.normThreshold[b] = r.normThreshold;
      details.minSamples[b] = r.minSamples;
      details.clusters[b] = r.clusters;
      details.important[b] = r.important;
      details.noise[b] = r.noise;
    }
    return { shape: { ...input.shape }, maps, cfcam: details };
  }

  if (method === 'softcam') return softcamCpu(input);
  if (method === 'scorecam' || method === 'cluscam') {
    throw new InvalidOptionError(`${method} awaits the model between steps: use the asynchronous ${method === 'scorecam' ? 'scoreCamCpu' : 'clusCamCpu'} (or engine.compute)`);
  }

  for (let b = 0; b < B; b++) {
    const map =
      method === 'eigencam'
        ? eigencamMap(activationsOf(b), C, H, W, outHeight, outWidth)
        : gradientFamilyMap(
            method,
            { activations: activationsOf(b), gradients: gradientsOf(b), channels: C, height: H, width: W },
            outHeight,
            outWidth,
          );
    maps.set(map, b * mapSize);
  }
  return { shape: { ...input.shape }, maps };
}
