import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const page = (name: string) => fileURLToPath(new URL(`./src/demo/${name}`, import.meta.url));

// The browser app (demo, embedding example, benchmark page). ONNX Runtime Web needs
// cross-origin isolation for its threaded wasm build.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: 'src/demo',
  server: { headers: isolation },
  // Pre-bundle the dependencies pages import lazily: otherwise Vite discovers them on first use,
  // re-optimises and reloads the page (a fresh clone's first test run would hang on that).
  optimizeDeps: { include: ['onnxruntime-web/webgpu', 'wgsl-preprocessor/wgsl-preprocessor.js'] },
  preview: { headers: isolation },
  build: {
    outDir: '../../dist/demo',
    emptyOutDir: true,
    target: 'es2022',
    // Three pages: the demo, the embedding example and the benchmark page.
    rollupOptions: { input: { main: page('index.html'), embed: page('embed.html'), bench: page('bench.html') } },
  },
});
