// A plain Node ESM script using the installed package: the CPU engine, then (when asked) the
// GPU engine on Dawn through webgpu-cam/node. Prints one JSON line for the consumer test.
import { readFileSync } from 'node:fs';
import { createCamEngine, parseNpy } from 'webgpu-cam';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const camInput = {
  shape: input.shape,
  activations: Float32Array.from(input.activations),
  gradients: Float32Array.from(input.gradients),
};
const report = { gpuGlobalsBefore: typeof globalThis.GPUBufferUsage, parseNpy: typeof parseNpy };

// No WebGPU in plain Node: the default GPU backend fails with a typed error naming the option.
try {
  await createCamEngine();
  report.noGpuError = 'none';
} catch (error) {
  report.noGpuError = { name: error.name, message: error.message };
}

const cpu = await createCamEngine({ backend: 'cpu' });
const cpuRun = await cpu.compute('gradcam', camInput);
report.cpu = { backend: cpu.backend, maps: Array.from(cpuRun.maps) };
report.gpuGlobalsAfterCpu = typeof globalThis.GPUBufferUsage;

if (process.argv.includes('--gpu')) {
  const { nodeGpu } = await import('webgpu-cam/node');
  const gpu = await createCamEngine({ gpu: await nodeGpu() });
  const gpuRun = await gpu.compute('gradcam', camInput);
  report.gpu = { backend: gpu.backend, adapter: gpu.adapterName, maps: Array.from(gpuRun.maps) };
  gpu.dispose();
}
console.log(JSON.stringify(report));
