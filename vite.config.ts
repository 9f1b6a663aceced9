import { defineConfig } from 'vite';

// The browser app (demo, embedding example, benchmark page). ONNX Runtime Web needs
// cross-origin isolation for its threaded wasm build.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: 'src/demo',
  server: { headers: isolation },
  // Pre-bundle the dependencies pages import lazily: otherwise Vite discovers them on first use,
  // re-optimises and reloads the page (a fresh clone's first test run would hang on that).
  optimizeDeps: { include: ['onnx-proto', 'onnxruntime-web/webgpu', 'wgsl-preprocessor/wgsl-preprocessor.js'] },
  preview: { headers: isolation },
  build: { outDir: '../../dist/demo', emptyOutDir: true, target: 'es2022' },
});
