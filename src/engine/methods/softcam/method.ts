import type { CamMethodDefinition } from '../contract.js';
import { softcamCpu } from './cpu.js';
import { encodeSoftcam } from './gpu.js';
import { assertSoftcamClassIndices } from './options.js';

/** Soft-CAM: a self-explaining model's class-evidence map A_c, signed and min-max normalised. */
export const softcamMethod: CamMethodDefinition = {
  label: 'Soft-CAM',
  capabilities: { gradients: false, scorer: false, evidenceLayer: true },
  validateInput: (input) => assertSoftcamClassIndices(input.classIndices, input.shape.batch, input.shape.channels),
  gpu: { kind: 'recorded', encode: encodeSoftcam },
  cpu: softcamCpu,
};
