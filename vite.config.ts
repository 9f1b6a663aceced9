import { defineConfig } from 'vite';

// The browser app (demo, embedding example, benchmark page). ONNX Runtime Web needs
// cross-origin isolation for its threaded wasm build.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: 'src/demo',
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { outDir: '../../dist/demo', emptyOutDir: true, target: 'es2022' },
});
