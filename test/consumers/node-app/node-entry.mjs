// A Node bundle of webgpu-cam/node (Dawn stays an import).
import { createCamEngine } from 'webgpu-cam';
import { nodeGpu } from 'webgpu-cam/node';
export const gpuEngine = async () => createCamEngine({ gpu: await nodeGpu() });
