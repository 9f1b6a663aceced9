import { assertBindable } from '../../gpu/limits.js';
import type { Recorder } from '../../gpu/recorder.js';
import { recordEigenCenter } from './eigen-center.js';
import { gramSide, recordEigenGram } from './eigen-gram.js';
import { recordEigenPower } from './eigen-power.js';
import { recordEigenProject } from './eigen-project.js';
import type { CamOptions } from '../../types.js';
import type { EncodedCam, GpuCamInputs } from '../contract.js';
import { recordGradcamPostprocess } from '../common/postprocess-gpu.js';
import { eigenIterationsOf } from './options.js';

/**
 * Eigen-CAM: centre the channels, build the Gram matrix of the smaller side of X (HW x C),
 * find its dominant eigenvector by power iteration (one workgroup per image), project to the
 * map X v1 with the sign fixed (largest-magnitude entry positive), ReLU, then the family's
 * post-processing. Gradients are not used.
 */
export function encodeEigencam(rec: Recorder, inputs: GpuCamInputs, options: CamOptions): EncodedCam {
  const { shape, activations } = inputs;
  const iterations = eigenIterationsOf(options);
  const dims = { batch: shape.batch, channels: shape.channels, pixels: shape.height * shape.width };
  const n = gramSide(dims.channels, dims.pixels) === 'channels' ? dims.channels : dims.pixels;
  const gramBytes = dims.batch * n * n * 4;
  assertBindable(rec.device, gramBytes, `Eigen-CAM's Gram matrices (batch ${dims.batch}, ${n} x ${n})`, 'use a smaller batch');

  let centred!: GPUBuffer;
  rec.stage('eigen centre', (pass) => {
    centred = recordEigenCenter(rec, pass, activations, dims);
  });
  let gram!: GPUBuffer;
  rec.stage('eigen gram', (pass) => {
    gram = recordEigenGram(rec, pass, centred, dims).gram;
  });
  let eigen!: { vector: GPUBuffer; value: GPUBuffer };
  rec.stage('eigen power', (pass) => {
    eigen = recordEigenPower(rec, pass, gram, { batch: dims.batch, n, iterations });
  });
  let reluMap!: GPUBuffer;
  rec.stage('eigen project', (pass) => {
    reluMap = recordEigenProject(rec, pass, centred, eigen, dims);
  });
  return { map: recordGradcamPostprocess(rec, reluMap, shape) };
}
