// Bundle-size probe: the CAM engine (GPU and CPU backends) without the model explainer.
import { createCamEngine } from 'webgpu-cam';
export const engine = (options) => createCamEngine(options);
