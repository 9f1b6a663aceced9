import { defineConfig } from 'vitest/config';
import { swiftshaderEnvironment } from "./src/engine/gpu/node.js";

// Dawn reads the Vulkan driver settings when a process starts: set them here, before vitest
// forks its workers, so GPU tests find Chromium's SwiftShader on machines without a GPU.
Object.assign(process.env, swiftshaderEnvironment() ?? {});

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/browser/**', 'test/tmp/**', 'test/python/**'],
    pool: 'forks',
    // SwiftShader runs WebGPU on the CPU: keep problems small, but allow it time.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
