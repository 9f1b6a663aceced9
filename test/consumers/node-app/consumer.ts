// A TypeScript consumer (NodeNext, strict, skipLibCheck off): every public entry point type-checks
// from the package's .d.ts, and the types are real (misuse is an error).
import { createCamEngine, encodeNpy, parseNpy, GpuUnavailableError, type CamEngine, type CamRun, type CamInput } from 'webgpu-cam';
import { nodeGpu, swiftshaderEnvironment } from 'webgpu-cam/node';
import { createExplainer, type CreateExplainerOptions, type ExplainOptions } from 'webgpu-cam/browser';

const input: CamInput = {
  shape: { batch: 1, channels: 2, height: 2, width: 2, outHeight: 4, outWidth: 4 },
  activations: new Float32Array(8),
  gradients: new Float32Array(8),
};

export async function run(): Promise<Float32Array> {
  const engine: CamEngine = await createCamEngine({ backend: 'cpu' });
  const result: CamRun = await engine.compute('gradcam', input);
  // @ts-expect-error: not a CAM method
  await engine.compute('no-such-method', input);
  // @ts-expect-error: the backend is 'gpu' or 'cpu'
  await createCamEngine({ backend: 'tpu' });
  const gpu: GPU = await nodeGpu();
  const env: Record<string, string> | null = swiftshaderEnvironment();
  const npy = parseNpy(encodeNpy(result.maps, [4, 4]));
  const options: CreateExplainerOptions = { model: new Uint8Array(0), backend: 'cpu' };
  const explain: ExplainOptions = { method: 'cfcam' };
  void [gpu, env, npy, options, explain, createExplainer, GpuUnavailableError];
  return result.maps;
}
