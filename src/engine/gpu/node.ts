/// <reference types="@webgpu/types" preserve="true" />
/**
 * WebGPU in Node through Dawn (the `webgpu` npm package).
 *
 * Dawn finds Vulkan drivers through the system loader. On a machine without a GPU, Chromium's
 * SwiftShader works: `VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json` plus
 * `LD_LIBRARY_PATH=/usr/lib/chromium` (for its bundled libvulkan.so.1). Both are read when the
 * process starts, so the CLI (src/cli/gpu-environment.ts) sets them and re-executes itself;
 * see `swiftshaderEnvironment` and `chromiumLoaderEnvironment` below.
 */
import { existsSync } from 'node:fs';
import { GpuUnavailableError } from '../errors.js';

const CHROMIUM_DIR = '/usr/lib/chromium';
const CHROMIUM_LOADER = `${CHROMIUM_DIR}/libvulkan.so.1`;
export const SWIFTSHADER_ICD = `${CHROMIUM_DIR}/vk_swiftshader_icd.json`;

// Dawn's entry object must stay referenced for the life of the process: if it is garbage
// collected, the process crashes.
let dawnGpu: GPU | undefined;

/**
 * Dawn's `GPU` object (created once), with WebGPU's globals (GPUBufferUsage, ...) installed.
 * Needs the optional peer dependency `webgpu` (`npm install webgpu`).
 */
export async function nodeGpu(): Promise<GPU> {
  if (!dawnGpu) {
    let dawn: typeof import('webgpu');
    try {
      dawn = await import('webgpu');
    } catch (error) {
      throw new GpuUnavailableError(
        `could not load Dawn, the \`webgpu\` package (${(error as Error).message.split('\n')[0]}); install it (npm install webgpu) or use backend: 'cpu'`,
      );
    }
    Object.assign(globalThis, dawn.globals);
    dawnGpu = dawn.create([]) as unknown as GPU;
  }
  return dawnGpu;
}

/**
 * Environment additions that point Dawn at Chromium's SwiftShader, or null when the caller
 * already chose a Vulkan driver or SwiftShader is not installed.
 */
export function swiftshaderEnvironment(env: Record<string, string | undefined> = process.env): Record<string, string> | null {
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || !existsSync(SWIFTSHADER_ICD)) return null;
  const libraryPath = [CHROMIUM_DIR, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  // NODEVICE_SELECT: Mesa's implicit device-select layer (installed with Mesa's Vulkan drivers)
  // would otherwise load too and print errors about a missing display session.
  return { VK_ICD_FILENAMES: SWIFTSHADER_ICD, LD_LIBRARY_PATH: libraryPath, NODEVICE_SELECT: '1' };
}

/**
 * Environment additions that let Dawn load Chromium's Vulkan loader (it can load any driver's
 * ICD, SwiftShader's or a GPU vendor's), for a caller who chose a driver with VK_ICD_FILENAMES
 * on a machine without a system libvulkan.so.1; null when Chromium's loader is not installed
 * or already on LD_LIBRARY_PATH.
 */
export function chromiumLoaderEnvironment(env: Record<string, string | undefined> = process.env): Record<string, string> | null {
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (!existsSync(CHROMIUM_LOADER) || dirs.includes(CHROMIUM_DIR)) return null;
  // First on the path: an unusable libvulkan.so.1 earlier on it is what sent us here.
  return { LD_LIBRARY_PATH: [CHROMIUM_DIR, ...dirs].join(':'), NODEVICE_SELECT: env.NODEVICE_SELECT ?? '1' };
}
