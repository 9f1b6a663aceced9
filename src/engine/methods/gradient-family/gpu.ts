import { ShapeMismatchError } from '../../errors.js';
import type { Recorder } from '../../gpu/recorder.js';
import { recordChannelWeights, type ChannelWeightMethod } from './channel-weights.js';
import { recordPixelProductSum, type PixelProductMethod } from './pixel-product-sum.js';
import { recordWeightedSum } from '../common/weighted-sum.js';
import type { GradientMethod } from './cpu.js';
import type { EncodedCam, GpuCamInputs } from '../contract.js';
import { recordGradcamPostprocess } from '../common/postprocess-gpu.js';


function isPixelProduct(method: GradientMethod): method is PixelProductMethod {
  return method === 'layercam' || method === 'hirescam';
}

/**
 * Grad-CAM, Grad-CAM++, XGrad-CAM (channel weights, then a weighted sum of the channels) and
 * LayerCAM, HiResCAM (a per-pixel gradient x activation sum), followed by pytorch-grad-cam's
 * post-processing. Every stage covers the whole batch.
 */
export function encodeGradientFamily(rec: Recorder, method: GradientMethod, inputs: GpuCamInputs): EncodedCam {
  const { shape, activations, gradients } = inputs;
  if (!gradients) throw new ShapeMismatchError(`method ${method} needs gradients`);
  const dims = { batch: shape.batch, channels: shape.channels, pixels: shape.height * shape.width };

  let reluMap!: GPUBuffer;
  if (isPixelProduct(method)) {
    rec.stage('pixel sum', (pass) => {
      reluMap = recordPixelProductSum(rec, pass, method, activations, gradients, dims);
    });
  } else {
    let weights!: GPUBuffer;
    rec.stage('weights', (pass) => {
      weights = recordChannelWeights(rec, pass, method satisfies ChannelWeightMethod, activations, gradients, dims);
    });
    rec.stage('weighted sum', (pass) => {
      reluMap = recordWeightedSum(rec, pass, activations, weights, dims);
    });
  }
  return { map: recordGradcamPostprocess(rec, reluMap, shape) };
}
