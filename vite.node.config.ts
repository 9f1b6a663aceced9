import { defineConfig } from 'vite';

// Node build of the CLI: WGSL files are inlined (`?raw` imports), dependencies stay external.
export default defineConfig({
  build: {
    ssr: 'src/cli/main.ts',
    outDir: 'dist/node',
    emptyOutDir: true,
    target: 'node20',
    rollupOptions: { output: { entryFileNames: 'cli.js' } },
  },
  ssr: { noExternal: ['wgsl-preprocessor'] },
});
