import type { CamMethodDefinition } from '../contract.js';
import { eigencamCpu } from './cpu.js';
import { encodeEigencam } from './gpu.js';
import { eigenIterationsOf } from './options.js';

/** Eigen-CAM: the first principal component of the activations; no gradients. */
export const eigencamMethod: CamMethodDefinition = {
  label: 'Eigen-CAM',
  capabilities: { gradients: false, scorer: false, evidenceLayer: false },
  validateOptions: (options) => void eigenIterationsOf(options),
  gpu: { kind: 'recorded', encode: encodeEigencam },
  cpu: eigencamCpu,
};
