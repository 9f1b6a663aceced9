import type { BufferBinding, Recorder } from '../gpu/recorder.js';
import type { CamMethod, CamOptions, CamShape } from '../types.js';
import { encodeCfcam, type EncodedCfcamDetails } from './cfcam.js';
import { encodeGradientFamily } from './gradient-family.js';
import { encodeEigencam } from './eigencam.js';

/** Device-resident inputs of one call: [B,C,H,W] float32 each (explicit sizes allowed). */
export interface GpuCamInputs {
  shape: CamShape;
  activations: BufferBinding;
  /** null for gradient-free methods. */
  gradients: BufferBinding | null;
}

/** What a method leaves on the GPU: the final maps and, for CF-CAM, its details. */
export interface EncodedCam {
  /** [B, outHeight, outWidth] float32, final normalised maps (a recorder temporary). */
  map: GPUBuffer;
  cfcam?: EncodedCfcamDetails;
}

/** Record `method` into `rec`; nothing is submitted or read back here. */
export function encodeCam(rec: Recorder, method: CamMethod, inputs: GpuCamInputs, options: CamOptions): EncodedCam {
  switch (method) {
    case 'cfcam':
      return encodeCfcam(rec, inputs, options);
    case 'eigencam':
      return encodeEigencam(rec, inputs, options);
    default:
      return encodeGradientFamily(rec, method, inputs);
  }
}
