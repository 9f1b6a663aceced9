#!/usr/bin/env node
// `npm run build`: the package's dist/ (ES modules with WGSL inlined and source maps, from
// vite.lib.config.ts; declarations from tsconfig.build.json; the CLI at dist/node/cli.js).
// dist/demo (`npm run build:web`) is left alone. Fails when a `?raw` or .wgsl import survives.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

for (const entry of (statSync(dist, { throwIfNoEntry: false }) ? readdirSync(dist) : []).filter((n) => n !== "demo")) {
  rmSync(path.join(dist, entry), { recursive: true, force: true });
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build: ${path.basename(command)} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

run(bin('vite'), ['build', '--config', 'vite.lib.config.ts', '--logLevel', 'warn']);
run(bin('tsc'), ['-p', 'tsconfig.build.json']);

const files = (dir) => readdirSync(dir).flatMap((name) => {
  const full = path.join(dir, name);
  return statSync(full).isDirectory() ? (name === 'demo' && dir === dist ? [] : files(full)) : [full];
});
const leftovers = files(dist).filter((f) => /\.(js|d\.ts)$/.test(f) && /\.wgsl(\?raw)?['"]/.test(readFileSync(f, 'utf8')));
if (leftovers.length) {
  console.error(`build: WGSL imports left in ${leftovers.map((f) => path.relative(root, f)).join(', ')}`);
  process.exit(1);
}
console.log(`build: dist/ ready (${files(dist).length} files)`);
