import type { CamMethodDefinition } from '../contract.js';
import { assertScoredInput } from '../scored/options.js';
import { scorecamCpu } from './cpu.js';
import { runScorecamGpu } from './gpu.js';

/** Score-CAM: channel masks scored by the model; softmax of the class logits weights the channels. */
export const scorecamMethod: CamMethodDefinition = {
  label: 'Score-CAM',
  capabilities: { gradients: false, scorer: true, evidenceLayer: false },
  validateInput: (input, options) => assertScoredInput('scorecam', input, options),
  gpu: { kind: 'driver', run: runScorecamGpu },
  cpu: scorecamCpu,
};
