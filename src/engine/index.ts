/** webgpu-cam public API. */
export * from './types.js';
export * from './errors.js';
export { createCamEngine, type CamEngine, type CamRun, type ComputeOptions, type EngineOptions, type Backend } from './engine.js';
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
export { parseNpy, encodeNpy, type NpyArray } from './io/npy.js';
export { validateCamInput } from './validate.js';
export { COLORMAPS, COLORMAP_TABLES, colorize, blendOver, type Colormap, type ColorizeOptions, type ContourOptions } from './display/colormaps.js';
export { overlay, colorizeJet, jetColor, type RgbaImage, type CamMap, type OverlayOptions } from './display/overlay.js';
