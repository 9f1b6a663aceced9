/**
 * The browser entry point (`webgpu-cam/browser`): the embedding API and the `<cam-overlay>`
 * element. Everything here also runs without WebGPU (on the CPU).
 */
export { createExplainer, Explainer, type CreateExplainerOptions, type ExplainOptions } from './explainer.js';
export { CamExplanation, type DrawOverlayOptions, type ExplanationData } from './result.js';
export { readPixels, sourceSize, type ImageSource, type PixelTensor, type Region } from './sources.js';
export { CamOverlayElement, defineCamOverlay, disposeCamOverlays } from './cam-overlay.js';
export * from '../index.js';

