#!/usr/bin/env node
// Launcher for the `webgpu-cam` command: runs the bundled CLI (dist/node/cli.js, built by
// `npm run build`). Kept as plain JavaScript so it works without a TypeScript toolchain.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/node/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write(
    'webgpu-cam: the CLI is not built (dist/node/cli.js is missing); in a clone of the repository run `npm run build` (installed packages ship it built)\n',
  );
  process.exit(1);
}
// Importing the bundle runs the command line.
await import(cli.href);
