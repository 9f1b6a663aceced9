/** webgpu-cam public API. */
export * from './types.js';
export * from './errors.js';
export { createCamEngine, type CamEngine, type CamRun, type ComputeOptions, type EngineOptions, type Backend } from './engine.js';
export { createGpuContext, type GpuContext, type GpuContextOptions } from './gpu/context.js';
export { Recorder, type BufferBinding } from './gpu/recorder.js';
export { encodeCam, type GpuCamInputs, type EncodedCam } from './methods/index.js';
export { computeCamCpu } from './reference/index.js';
export { parseNpy, encodeNpy, type NpyArray } from './io/npy.js';
export { validateCamInput } from './validate.js';
export { COLORMAPS, COLORMAP_TABLES, colorize, blendOver, type Colormap, type ColorizeOptions, type ContourOptions } from './colormaps.js';
export { overlay, colorizeJet, jetColor, type RgbaImage, type CamMap, type OverlayOptions } from './overlay.js';
export * from './metrics/index.js';
