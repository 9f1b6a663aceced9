#!/usr/bin/env node
/**
 * The GPU check for a machine with a real GPU and no registry (run by scripts/device-check.sh
 * from a bundle made by scripts/device-bundle.sh): needs only Node, the built dist/ and Dawn.
 *
 * 1. Exactness: every golden case, every method with a golden map, on the GPU engine, against
 *    the golden fixtures and the CPU reference (the tolerances of the tests: CF-CAM labels and
 *    counts exact, eps/threshold 1e-5 relative, weights 1e-5, maps 1e-4).
 * 2. Speed: CF-CAM and Grad-CAM per image through `webgpu-cam bench` (GPU and CPU fast path) on
 *    the golden layers at batch 1 and 32, and the targets of issue 12 (CF-CAM 2048x7x7 under
 *    1 ms/image at batch 1, under 0.1 ms at batch 32).
 *
 * Prints one JSON object on stdout (progress on stderr). Exit status 0 when every exactness
 * check passes (speed targets are reported, not enforced).
 *
 * usage: node scripts/device-check.mjs GOLDEN_DIR [--runs R] [--batches 1,32] [--bench-cases a,b]
 *   (--batches and --bench-cases shrink the speed part, e.g. for a trial on SwiftShader: run it
 *   with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, or through device-check.sh
 *   with DEVICE_CHECK_ICD set to that file; Dawn reads the Vulkan variables only at start-up)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const golden = path.resolve(process.argv[2] ?? path.join(root, '../shared/golden'));
const option = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(option('--runs', '5'));
const batches = option('--batches', '1,32').split(',').map(Number);
const benchCases = option('--bench-cases', 'resnet50-layer4,resnet50-layer3,vgg16-features29,resnet18-layer4').split(',');
if (!(runs >= 1) || batches.some((b) => !(b >= 1))) {
  console.error('device-check: --runs and --batches take positive integers');
  process.exit(2);
}
const started = Date.now();
const progress = (line) => process.stderr.write(`[device-check ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);

const { createCamEngine, createGpuContext, parseNpy } = await import(path.join(root, 'dist/engine/index.js'));
const { nodeGpu } = await import(path.join(root, 'dist/engine/gpu/node.js'));

const MAP_STEMS = { cfcam: 'cam', gradcam: 'gradcam', gradcampp: 'gradcampp', xgradcam: 'xgradcam', layercam: 'layercam', hirescam: 'hirescam', eigencam: 'eigencam' };
const MAP_TOLERANCE = 1e-4;

function load(dir, file) {
  return parseNpy(new Uint8Array(readFileSync(path.join(dir, file))), file).data;
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const relative = (a, b) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

/** What differs between the GPU's CF-CAM details and the golden ones ([] when nothing). */
function cfcamMismatches(details, dir, meta) {
  const problems = [];
  const labels = load(dir, 'labels.npy');
  if (Array.from(details.labels).join() !== Array.from(labels).join()) problems.push('labels');
  if (relative(details.eps[0], meta.eps) > 1e-5) problems.push(`eps ${details.eps[0]} vs ${meta.eps}`);
  if (relative(details.normThreshold[0], meta.norm_threshold) > 1e-5) problems.push('norm threshold');
  for (const [field, key] of [['minSamples', 'min_samples'], ['clusters', 'clusters'], ['important', 'important'], ['noise', 'noise']]) {
    if (details[field][0] !== meta[key]) problems.push(`${field} ${details[field][0]} vs ${meta[key]}`);
  }
  const weights = maxAbsDiff(details.weights, load(dir, 'weights.npy'));
  if (!(weights <= 1e-5)) problems.push(`weights differ by ${weights}`);
  return problems;
}

async function exactness(gpuEngine, cpuEngine) {
  const cases = readdirSync(golden).filter((d) => existsSync(path.join(golden, d, 'meta.json'))).sort();
  const results = [];
  for (const name of cases) {
    const dir = path.join(golden, name);
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    const input = {
      shape: { batch: 1, channels: meta.channels, height: meta.height, width: meta.width, outHeight: meta.output_size, outWidth: meta.output_size },
      activations: load(dir, 'activations.npy'),
      gradients: load(dir, 'gradients.npy'),
    };
    for (const [method, stem] of Object.entries(MAP_STEMS)) {
      if (!existsSync(path.join(dir, `${stem}.npy`))) continue;
      const gpu = await gpuEngine.compute(method, input);
      const cpu = await cpuEngine.compute(method, input);
      const vsGolden = maxAbsDiff(gpu.maps, load(dir, `${stem}.npy`));
      const vsCpu = maxAbsDiff(gpu.maps, cpu.maps);
      const problems = method === 'cfcam' ? cfcamMismatches(gpu.cfcam, dir, meta) : [];
      if (!(vsGolden <= MAP_TOLERANCE)) problems.push(`map vs golden ${vsGolden}`);
      if (!(vsCpu <= MAP_TOLERANCE)) problems.push(`map vs CPU reference ${vsCpu}`);
      results.push({ case: name, method, vsGolden, vsCpu, pass: problems.length === 0, problems });
    }
    progress(`${name}: ${results.filter((r) => r.case === name && r.pass).length}/${results.filter((r) => r.case === name).length} exact`);
  }
  return results;
}

function bench(name, method, batch) {
  const dir = path.join(golden, name);
  const args = ['bin/webgpu-cam.js', 'bench', '--activations', path.join(dir, 'activations.npy'), '--gradients', path.join(dir, 'gradients.npy'),
    '--method', method, '--batch', String(batch), '--runs', String(runs), '--paths', 'gpu,cpu-fast', '--json'];
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) return { case: name, method, batch, error: result.stderr.trim().split('\n').slice(-3).join(' ') };
  const report = JSON.parse(result.stdout);
  const kernels = Object.fromEntries(Object.entries(report.kernels ?? {}).map(([k, v]) => [k, v.perImageMs]));
  return { case: name, method, batch, shape: report.shape, gpuMsPerImage: report.gpu?.perImageMs, cpuFastMsPerImage: report.cpuFast?.perImageMs, kernelsMsPerImage: kernels };
}

const context = await createGpuContext({ gpu: await nodeGpu() });
const gpuEngine = await createCamEngine({ context });
const cpuEngine = await createCamEngine({ backend: 'cpu', cpuPath: 'reference' });
progress(`adapter: ${gpuEngine.adapterName}`);
const exact = await exactness(gpuEngine, cpuEngine);

const speed = [];
for (const name of benchCases) {
  if (!existsSync(path.join(golden, name))) continue;
  for (const method of ['cfcam', 'gradcam']) {
    for (const batch of batches) {
      speed.push(bench(name, method, batch));
      progress(`bench ${name} ${method} batch ${batch}: ${JSON.stringify(speed.at(-1).gpuMsPerImage ?? speed.at(-1).error)} ms/image`);
    }
  }
}
const cfcam2048 = (batch) => speed.find((s) => s.case === 'resnet50-layer4' && s.method === 'cfcam' && s.batch === batch)?.gpuMsPerImage;
const summary = {
  adapter: gpuEngine.adapterName,
  node: process.version,
  exactness: { checked: exact.length, passed: exact.filter((r) => r.pass).length, worstVsGolden: Math.max(...exact.map((r) => r.vsGolden)), failures: exact.filter((r) => !r.pass) },
  speed,
  targets: {
    cfcam2048x7x7Batch1MsPerImage: cfcam2048(1) ?? null,
    cfcam2048x7x7Batch1Under1ms: cfcam2048(1) !== undefined && cfcam2048(1) < 1,
    cfcam2048x7x7Batch32MsPerImage: cfcam2048(32) ?? null,
    cfcam2048x7x7Batch32Under0_1ms: cfcam2048(32) !== undefined && cfcam2048(32) < 0.1,
  },
  seconds: (Date.now() - started) / 1000,
};
console.log(JSON.stringify(summary, null, 2));
process.exit(summary.exactness.failures.length === 0 && exact.length > 0 ? 0 : 1);
