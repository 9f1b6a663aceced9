// Bundle-size probe: the browser embedding API (ONNX Runtime Web kept external).
import { createExplainer } from 'webgpu-cam/browser';
export const explainer = (options) => createExplainer(options);
