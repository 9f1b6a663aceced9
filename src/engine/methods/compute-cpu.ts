/**
 * The CPU backend: each method's CPU twin (methods/<method>/cpu.ts), image by image. It is the
 * backend of `createCamEngine({ backend: 'cpu' })` and the yardstick the GPU kernels are tested
 * against. Inputs are assumed validated (validateCamInput).
 */
import { InvalidOptionError } from '../errors.js';
import type { CamInput, CamOptions, CamResult } from '../types.js';
import type { CamMethod } from '../methods/registry.js';
import { methodDefinition } from './registry.js';

export { cfcamImage } from './cfcam/cpu.js';
export { eigencamMap } from './eigencam/cpu.js';
export { gradientFamilyMap } from './gradient-family/cpu.js';
export { softcamCpu, softcamImage } from './softcam/cpu.js';

/** Compute a method that needs no model for every image of the batch; maps are [B, outHeight, outWidth] float32. */
export function computeCamCpu(method: CamMethod, input: CamInput, options: CamOptions = {}): CamResult {
  const definition = methodDefinition(method);
  if (definition.capabilities.scorer) {
    throw new InvalidOptionError(`${method} awaits the model between steps: use engine.compute('${method}', ...) on the CPU backend, or its asynchronous CPU twin`);
  }
  return definition.cpu(input, options) as CamResult;
}
