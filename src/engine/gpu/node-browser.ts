/**
 * `webgpu-cam/node` under a bundler's `browser` condition: the same names, without Dawn or
 * node:fs, so code shared between Node and browsers bundles. In a browser WebGPU is
 * `navigator.gpu`, which createCamEngine finds by itself.
 */
import { GpuUnavailableError } from '../errors.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Rejects: Dawn exists only in Node. */
export async function nodeGpu(): Promise<GPU> {
  throw new GpuUnavailableError("nodeGpu() needs Node; in a browser leave `gpu` unset (navigator.gpu is used) or use backend: 'cpu'");
}

/** Always null: there is no Vulkan loader to configure in a browser. */
export function swiftshaderEnvironment(_env: Record<string, string | undefined> = {}): Record<string, string> | null {
  return null;
}
