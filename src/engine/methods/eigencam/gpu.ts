import { DeviceLimitError, InvalidOptionError } from '../../errors.js';
import type { Recorder } from '../../gpu/recorder.js';
import { recordEigenCenter } from './eigen-center.js';
import { gramSide, recordEigenGram } from './eigen-gram.js';
import { recordEigenPower } from './eigen-power.js';
import { recordEigenProject } from './eigen-project.js';
import type { CamOptions } from '../../types.js';
import type { EncodedCam, GpuCamInputs } from '../encode.js';
import { recordGradCamPostprocess } from '../common/postprocess-gpu.js';

/**
 * Upper bound on power-iteration steps when options.eigenIterations is not given; the kernel
 * stops earlier once the eigenvector stops moving (typically tens of steps). The error shrinks
 * like (lambda2 / lambda1)^steps: the golden cases' worst ratio, about 0.946, needs about 290
 * steps to reach float32 resolution, and real layers can be closer, so the cap leaves margin.
 */
export const DEFAULT_EIGEN_ITERATIONS = 1000;

function iterationsOf(options: CamOptions): number {
  const iterations = options.eigenIterations ?? DEFAULT_EIGEN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new InvalidOptionError(`eigenIterations must be a positive integer, got ${iterations}`);
  }
  return iterations;
}

/**
 * Eigen-CAM: centre the channels, build the Gram matrix of the smaller side of X (HW x C),
 * find its dominant eigenvector by power iteration (one workgroup per image), project to the
 * map X v1 with the sign fixed (largest-magnitude entry positive), ReLU, then the family's
 * post-processing. Gradients are not used.
 */
export function encodeEigencam(rec: Recorder, inputs: GpuCamInputs, options: CamOptions): EncodedCam {
  const { shape, activations } = inputs;
  const iterations = iterationsOf(options);
  const dims = { batch: shape.batch, channels: shape.channels, pixels: shape.height * shape.width };
  const n = gramSide(dims.channels, dims.pixels) === 'channels' ? dims.channels : dims.pixels;
  const gramBytes = dims.batch * n * n * 4;
  const limit = rec.device.limits.maxStorageBufferBindingSize;
  if (gramBytes > limit) {
    throw new DeviceLimitError(
      `Eigen-CAM needs a ${gramBytes}-byte Gram matrix buffer (batch ${dims.batch}, ${n} x ${n}); this device binds at most ${limit} bytes: use a smaller batch`,
    );
  }

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
  return { map: recordGradCamPostprocess(rec, reluMap, shape) };
}
