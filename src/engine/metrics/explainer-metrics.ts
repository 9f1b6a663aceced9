/**
 * The metrics on a ModelExplainer: its batched classifier session scores the perturbed inputs
 * (softmax of the logits), the engine's backend picks the GPU or CPU perturber, and the
 * robustness check re-explains with noisy gradients or a noisy input.
 */
import type { CamEngine } from '../engine.js';
import type { ExplainRequest, ModelExplainer } from '../model/explainer.js';
import { GRADIENT_FREE_METHODS, type CamMethod } from '../methods/registry.js';
import type { RgbaImage } from '../display/overlay.js';
import { cpuPerturber, gpuPerturber, type Perturber } from './perturber.js';
import type { NoisyMaps } from './robustness.js';
import type { MetricContext, MetricImage, ProbabilityScorer } from './types.js';

/** A scorer that counts the inputs it scores. */
export function explainerScorer(explainer: ModelExplainer): ProbabilityScorer {
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    async probabilities(inputs, count, classIndex) {
      runs += count;
      return explainer.classProbabilities(inputs, count, classIndex);
    },
  };
}

export function perturberFor(engine: CamEngine): Perturber {
  return engine.backend === 'gpu' && engine.gpu ? gpuPerturber(engine.gpu) : cpuPerturber;
}

export function metricContext(explainer: ModelExplainer, engine: CamEngine, batchSize = 16): MetricContext {
  return { scorer: explainerScorer(explainer), perturber: perturberFor(engine), batchSize };
}

export function metricImage(explainer: ModelExplainer, image: RgbaImage, classIndex: number): MetricImage {
  const [height, width] = explainer.inputSize;
  const { mean, std } = explainer.normalisation;
  return { input: explainer.preprocess(image), height, width, mean, std, classIndex };
}

/** Re-explanations under noise for the robustness metric (the class stays fixed). */
export function explainerNoisyMaps(explainer: ModelExplainer, image: RgbaImage, method: CamMethod, request: ExplainRequest & { classIndex: number }): NoisyMaps {
  return {
    withGradientNoise: GRADIENT_FREE_METHODS.has(method)
      ? undefined
      : async (transformGradients) => (await explainer.explain(image, { ...request, method, transformGradients })).map,
    withInput: async (input) => (await explainer.explain(image, { ...request, method, input })).map,
  };
}
