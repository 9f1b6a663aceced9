import { InvalidOptionError } from '../errors.js';
import type { Recorder } from '../gpu/recorder.js';
import type { CamOptions } from '../types.js';
import type { CamMethod } from '../methods/registry.js';
import type { EncodedCam, GpuCamInputs } from './contract.js';
import { methodDefinition } from './registry.js';

export type { EncodedCam, EncodedDetails, GpuCamInputs } from './contract.js';

/** Record `method` into `rec`; nothing is submitted or read back here. */
export function encodeCam(rec: Recorder, method: CamMethod, inputs: GpuCamInputs, options: CamOptions): EncodedCam {
  const { gpu } = methodDefinition(method);
  if (gpu.kind !== 'recorded') {
    // Score-CAM and ClusCAM run the model between GPU steps: no single recording.
    throw new InvalidOptionError(`${method} scores masked inputs with the model between GPU steps and cannot be recorded into one encoder: use engine.compute('${method}', ...) with a scorer`);
  }
  return gpu.encode(rec, inputs, options);
}
