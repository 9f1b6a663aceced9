#!/usr/bin/env node
/**
 * npm run bench: per-image time of the GPU engine, the CPU fast path, the CPU reference and (when
 * /usr/bin/python3 has torch and scikit-learn) the Python reference, measured side by side in one
 * run on the golden layers, plus the GPU per-kernel split. Absolute times on a shared machine are noisy:
 * read the ratios. Writes bench/out/latest.json.
 *
 * `npm run bench -- --scaling [options]` sweeps C, HxW and batch instead (bench/scaling.mjs).
 *
 * Environment: BENCH_CASES (comma list of golden case names), BENCH_METHODS (default
 * cfcam,gradcam), BENCH_BATCH (default 8), BENCH_RUNS (default 3), WEBGPU_CAM_GOLDEN.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { python, pythonReferenceAvailable, root, runJson } from './bench-process.mjs';

const golden = process.env.WEBGPU_CAM_GOLDEN ?? path.resolve(root, '../shared/golden');
const cases = (process.env.BENCH_CASES ?? 'resnet50-layer4,resnet50-layer3,vgg16-features29,resnet18-layer4').split(',');
const methods = (process.env.BENCH_METHODS ?? 'cfcam,gradcam').split(',');
const batch = process.env.BENCH_BATCH ?? '8';
const runs = process.env.BENCH_RUNS ?? '3';
if (!existsSync(path.join(root, 'dist/node/cli.js'))) {
  console.error('bench: dist/node/cli.js is missing; run `npm run build` first');
  process.exit(1);
}
if (process.argv.includes('--scaling')) {
  const { parseScalingArgs, runScaling } = await import('./scaling.mjs');
  let options;
  try {
    options = parseScalingArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`bench --scaling: ${error.message}`);
    process.exit(2);
  }
  await runScaling(options);
  process.exit(0);
}
const withPython = pythonReferenceAvailable();
const rows = [];
for (const name of cases) {
  const dir = path.join(golden, name);
  const a = path.join(dir, 'activations.npy');
  const g = path.join(dir, 'gradients.npy');
  for (const method of methods) {
    const bench = runJson(process.execPath, ['bin/webgpu-cam.js', 'bench', '--activations', a, '--gradients', g, '--method', method, '--batch', batch, '--runs', runs, '--json']);
    const row = { case: name, method, shape: bench.shape, batch: bench.batch, adapter: bench.adapter, gpu: bench.gpu, cpuFast: bench.cpuFast, cpu: bench.cpu, kernels: bench.kernels };
    if (withPython && method === 'cfcam') {
      row.python = runJson(python, ['bench/python_reference.py', a, g, '224', runs, path.join(dir, 'cam.npy')]);
    }
    rows.push(row);
    const cpu = row.cpu?.perImageMs;
    const fast = row.cpuFast?.perImageMs;
    const py = row.python?.perImageMs;
    const fmt = (v) => (v === undefined ? '-' : v.toFixed(2));
    const ratio = (a, b) => (a && b ? `${(a / b).toFixed(1)}x` : '-');
    console.log(
      [
        name.padEnd(18),
        method.padEnd(9),
        `gpu ${fmt(row.gpu.perImageMs)} ms/img (batch ${row.batch})`.padEnd(30),
        `cpu-fast ${fmt(fast)} ms`.padEnd(18),
        `cpu ${fmt(cpu)} ms`.padEnd(16),
        `python ${fmt(py)} ms`.padEnd(18),
        `cpu/gpu ${ratio(cpu, row.gpu.perImageMs)}`,
        `python/gpu ${ratio(py, row.gpu.perImageMs)}`,
        `cpu/cpu-fast ${ratio(cpu, fast)}`,
        `python/cpu-fast ${ratio(py, fast)}`,
      ].join('  '),
    );
  }
}
if (!withPython) console.log('(Python reference not timed: /usr/bin/python3 lacks torch or scikit-learn)');
console.log(`adapter: ${rows[0]?.adapter ?? 'n/a'}`);
mkdirSync(path.join(root, 'bench/out'), { recursive: true });
writeFileSync(path.join(root, 'bench/out/latest.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
console.log('wrote bench/out/latest.json');
