import { defineConfig } from 'vite';

/**
 * The package build: ES modules in dist/ mirroring src/ (one file per module, so consumers'
 * bundlers drop what they do not import), WGSL inlined from the `?raw` imports, source maps.
 * Entry points, not file lists, so moving files under src/engine needs no change here.
 * Every bare import (onnxruntime-web, webgpu, pngjs, node:*) stays an import.
 */
const ENTRIES = {
  'engine/index': 'src/engine/index.ts',
  'engine/browser/index': 'src/engine/browser/index.ts',
  'engine/gpu/node': 'src/engine/gpu/node.ts',
  'engine/gpu/node-browser': 'src/engine/gpu/node-browser.ts',
  'cli/main': 'src/cli/main.ts',
};

const isBare = (id: string) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0') && !/^[A-Za-z]:[\\/]/.test(id);

export default defineConfig({
  build: {
    outDir: 'dist',
    // dist/demo (the browser app, `npm run build:web`) lives beside the library: the build
    // script removes the library's own folders instead.
    emptyOutDir: false,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: { entry: ENTRIES, formats: ['es'] },
    rollupOptions: {
      external: isBare,
      output: {
        preserveModules: true,
        preserveModulesRoot: 'src',
        // The CLI keeps the path its launcher (bin/webgpu-cam.js), tests and benchmarks use; an
        // inlined shader becomes `x.wgsl.js`, never clashing with a kernel module `x.js` beside it.
        entryFileNames: (chunk) => {
          if (chunk.name === 'cli/main') return 'node/cli.js';
          return chunk.facadeModuleId?.includes('.wgsl') ? '[name].wgsl.js' : '[name].js';
        },
      },
    },
  },
});
