// Bundle-size probe: a consumer that only reads .npy files.
import { parseNpy } from 'webgpu-cam';
export const read = (bytes) => parseNpy(bytes);
