import type { CamMethodDefinition } from '../contract.js';
import { cfcamCpu } from './cpu.js';
import { encodeCfcam } from './gpu.js';
import { assertNormsFitFloat32, validateCfcamOptions } from './options.js';

/** CF-CAM (cfcam.md): cluster-filtered gradients over DBSCAN clusters of channels. */
export const cfcamMethod: CamMethodDefinition = {
  label: 'CF-CAM',
  capabilities: { gradients: true, scorer: false, evidenceLayer: false },
  validateOptions: (options) => validateCfcamOptions(options),
  validateInput: (input) => assertNormsFitFloat32(input.activations, input.shape.height * input.shape.width),
  gpu: { kind: 'recorded', encode: encodeCfcam },
  cpu: cfcamCpu,
};
