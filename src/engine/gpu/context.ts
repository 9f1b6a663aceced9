import { GpuUnavailableError } from '../errors.js';
import { PipelineCache } from './pipelines.js';
import { BufferPool } from './buffer-pool.js';

/** Everything a kernel needs to run: the device, its compiled pipelines and reusable buffers. */
export interface GpuContext {
  device: GPUDevice;
  /** Human-readable adapter name, e.g. "NVIDIA H100 (vulkan)" or "SwiftShader Device (Subzero)". */
  adapterName: string;
  /** True when compute passes can carry timestamp writes. */
  timestampQuery: boolean;
  pipelines: PipelineCache;
  pool: BufferPool;
  /** Destroys pooled buffers; the device itself is destroyed only if this context created it. */
  dispose(): void;
}

export interface GpuContextOptions {
  /** Use this device (e.g. the one ONNX Runtime Web runs on) instead of requesting one. */
  device?: GPUDevice;
  /** Adapter name to report along with `device`. */
  adapterName?: string;
  /** The GPU entry point; defaults to `navigator.gpu` (pass Dawn's in Node). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
}

const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
] as const;

export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.description, info.vendor, info.architecture, info.device].filter((s) => s && s.length > 0);
  return parts.length > 0 ? [...new Set(parts)].join(' / ') : 'unknown adapter';
}

/** Request an adapter and device with the limits CAM kernels want; or wrap a given device. */
export async function createGpuContext(options: GpuContextOptions = {}): Promise<GpuContext> {
  let device = options.device;
  let adapterName = options.adapterName ?? (device ? describeAdapter((device as { adapterInfo?: GPUAdapterInfo }).adapterInfo) : '');
  const ownsDevice = !device;
  if (!device) {
    const gpu = options.gpu ?? (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
    if (!gpu) throw new GpuUnavailableError("WebGPU is not available here (no navigator.gpu); pass `gpu` (in Node: nodeGpu() from 'webgpu-cam/node') or use backend: 'cpu'");
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!adapter) {
      throw new GpuUnavailableError(
        "no WebGPU adapter found; without a GPU install Chromium (SwiftShader) and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium, or use backend: 'cpu'",
      );
    }
    const requiredLimits: Record<string, number> = {};
    for (const key of WANTED_LIMITS) requiredLimits[key] = adapter.limits[key];
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'webgpu-cam' });
    adapterName = describeAdapter(adapter.info);
  }
  const dev = device;
  const pool = new BufferPool(dev);
  return {
    device: dev,
    adapterName,
    timestampQuery: dev.features.has('timestamp-query'),
    pipelines: new PipelineCache(dev),
    pool,
    dispose() {
      pool.destroyAll();
      if (ownsDevice) dev.destroy();
    },
  };
}
