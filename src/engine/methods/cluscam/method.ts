import type { CamMethodDefinition } from '../contract.js';
import { assertScoredInput } from '../scored/options.js';
import { cluscamCpu } from './cpu.js';
import { runCluscamGpu } from './gpu.js';
import { resolveCluscamOptions } from './options.js';

/** ClusCAM: K-Means over the upsampled channels; cluster masks scored by the model. */
export const cluscamMethod: CamMethodDefinition = {
  label: 'ClusCAM',
  capabilities: { gradients: false, scorer: true, evidenceLayer: false },
  validateOptions: (options, layer) => void resolveCluscamOptions(options.cluscam, layer.channels),
  validateInput: (input, options) => assertScoredInput('cluscam', input, options),
  gpu: { kind: 'driver', run: runCluscamGpu },
  cpu: cluscamCpu,
};
