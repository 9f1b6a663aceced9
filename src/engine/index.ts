/// <reference types="@webgpu/types" preserve="true" />
/** webgpu-cam public API. */
export * from './types.js';
export * from './errors.js';
export { createCamEngine, type CamEngine, type CamRun, type ComputeOptions, type EngineOptions, type Backend, type CpuPath } from './engine.js';
export { createGpuContext, type GpuContext, type GpuContextOptions } from './gpu/context.js';
export { Recorder, type BufferBinding } from './gpu/recorder.js';
export { encodeCam, type GpuCamInputs, type EncodedCam, type EncodedDetails } from './methods/encode.js';
export {
  METHODS,
  CAM_METHODS,
  GRADIENT_FREE_METHODS,
  MODEL_SCORED_METHODS,
  LAYER_METHODS,
  isCamMethod,
  assertMethod,
  methodDefinition,
  type CamMethod,
} from './methods/registry.js';
export type { CamMethodDefinition, MethodCapabilities, GpuImplementation } from './methods/contract.js';
export { DEFAULT_BILATERAL } from './methods/cfcam/options.js';
export { computeCamCpu } from './methods/compute-cpu.js';
export { computeCamCpuFast, fastCpuKernelKind, type FastCpuOptions } from './methods/compute-cpu-fast.js';
export { parseNpy, encodeNpy, type NpyArray } from './io/npy.js';
export { validateCamInput } from './validate.js';
export { COLORMAPS, COLORMAP_TABLES, colorize, blendOver, type Colormap, type ColorizeOptions, type ContourOptions } from './display/colormaps.js';
export { overlay, colorizeJet, jetColor, type RgbaImage, type CamMap, type OverlayOptions } from './display/overlay.js';
// Types the API above mentions, exported so consumers can name them.
export type { TimingMode, StagePass, SubmitResult, UniformValue } from './gpu/recorder.js';
export type { KernelDef, Defines, PipelineCache, BindingKind, CompiledKernel } from './gpu/pipelines.js';
export type { BufferPool } from './gpu/buffer-pool.js';
export type { EncodedCfcamDetails } from './methods/cfcam/gpu.js';
export type { ValueScans } from './util/finite.js';
export type { SimdKernels } from './simd/kernels.js';
// The model pipeline's types, which the metrics' explainer helpers take and return.
export type { ModelExplainer, ExplainRequest, Explanation, ModelMetadata, ClassScore } from './model/explainer.js';
export type { GradientModel, GradientModelOptions, CandidateLayer } from './model/types.js';
export type { ClassifierHead, ExplainedScore, HeadActivation } from './model/head.js';
export type { PreparedInput, InputLayout } from './model/prepare.js';
export type { ReshapeTransform, ReshapeTransformOption } from './model/reshape-transform.js';
export * from './metrics/index.js';
