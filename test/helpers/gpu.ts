import { createCamEngine, type CamEngine } from '../../src/engine/engine';
import { createGpuContext, type GpuContext } from '../../src/engine/gpu/context';
import { nodeGpu } from '../../src/engine/gpu/node';

let shared: Promise<GpuContext> | undefined;

/** One real WebGPU context (Dawn; SwiftShader without a GPU) per test worker. */
export function testGpu(): Promise<GpuContext> {
  shared ??= nodeGpu().then((gpu) => createGpuContext({ gpu }));
  return shared;
}

/** A GPU engine on the shared test context. */
export async function testEngine(): Promise<CamEngine> {
  return createCamEngine({ context: await testGpu() });
}
