/** Faithfulness, robustness and localisation metrics of explanations (see docs/evaluation.md). */
export { averageDrop, AVERAGE_DROP_THRESHOLD, AVERAGE_INCREASE_THRESHOLD, type AverageDropResult } from './average-drop.js';
export { deletionInsertion, trapezoidAuc, stepCounts, baselineImage, BASELINES, type Baseline, type DeletionInsertionOptions, type DeletionInsertionResult, type CurveResult } from './deletion-insertion.js';
export { road, roadRemoved, ROAD_PERCENTILES, type RoadOptions, type RoadResult } from './road.js';
export { noisyLinearImpute, gaussianStream, type ImputationOptions } from './imputation.js';
export { confidenceChange, type ConfidenceChangeResult } from './confidence-change.js';
export { robustness, addGaussianNoise, rootMeanSquare, GRADIENT_NOISE_LEVELS, INPUT_NOISE_LEVELS, type RobustnessOptions, type RobustnessResult, type NoisyMaps, type StabilityPoint } from './robustness.js';
export { ssim, mse } from './ssim.js';
export { pointingGame, type Box, type PointingResult } from './pointing-game.js';
export { pixelRanks, percentile } from './ranking.js';
export { cpuPerturber, gpuPerturber, gaussianTaps, type Perturber, type PerturbMode, type ImageSize } from './perturber.js';
export { PERTURB_MODE } from './perturb-kernel.js';
export { evaluateMap, summarise, METRICS, type MetricName, type MetricOptions, type MapMetrics, type MetricSummary, type EvaluateRequest } from './evaluate.js';
export { explainerScorer, perturberFor, metricContext, metricImage, explainerNoisyMaps } from './explainer-metrics.js';
export { scoreAll, type MetricContext, type MetricImage, type ProbabilityScorer } from './types.js';
export { curveSvg } from './curve-svg.js';
