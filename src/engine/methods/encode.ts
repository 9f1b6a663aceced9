import { InvalidOptionError } from '../errors.js';
import type { BufferBinding, Recorder } from '../gpu/recorder.js';
import type { CamMethod, CamOptions, CamShape } from '../types.js';
import { encodeCfcam, type EncodedCfcamDetails } from './cfcam/gpu.js';
import { encodeGradientFamily } from './gradient-family/gpu.js';
import { encodeEigencam } from './eigencam/gpu.js';
import { encodeSoftcam } from './softcam/gpu.js';

/** Device-resident inputs of one call: [B,C,H,W] float32 each (explicit sizes allowed). */
export interface GpuCamInputs {
  shape: CamShape;
  activations: BufferBinding;
  /** null for gradient-free methods. */
  gradients: BufferBinding | null;
  /** Soft-CAM: the class (evidence-map channel) shown for each image, length B. */
  classIndices?: Int32Array;
}

/** What a method leaves on the GPU: the final maps and, for CF-CAM, its details. */
export interface EncodedCam {
  /** [B, outHeight, outWidth] float32, final normalised maps (a recorder temporary). */
  map: GPUBuffer;
  cfcam?: EncodedCfcamDetails;
  /** Soft-CAM: [B, outHeight, outWidth] the resized evidence map, signed, not normalised. */
  signedMap?: GPUBuffer;
}

/** Record `method` into `rec`; nothing is submitted or read back here. */
export function encodeCam(rec: Recorder, method: CamMethod, inputs: GpuCamInputs, options: CamOptions): EncodedCam {
  switch (method) {
    case 'cfcam':
      return encodeCfcam(rec, inputs, options);
    case 'eigencam':
      return encodeEigencam(rec, inputs, options);
    case 'softcam':
      return encodeSoftcam(rec, inputs, options);
    case 'scorecam':
    case 'cluscam':
      // They run the model between GPU steps: no single recording (see runScoreCamGpu / runClusCamGpu).
      throw new InvalidOptionError(`${method} scores masked inputs with the model between GPU steps and cannot be recorded into one encoder: use engine.compute('${method}', ...) with a scorer`);
    default:
      return encodeGradientFamily(rec, method, inputs);
  }
}
