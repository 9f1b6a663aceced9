/**
 * `webgpu-cam bench`: GPU throughput on a batch built from saved tensors, per-kernel GPU
 * times from timestamp queries, and the CPU reference on one image for comparison.
 */
import { createCamEngine, type CamEngine } from '../engine/engine.js';
import { type CamInput, type CfcamMode } from '../engine/types.js';
import type { CamMethod } from '../engine/methods/registry.js';
import { GRADIENT_FREE_METHODS, LAYER_METHODS } from '../engine/methods/registry.js';
import { choice, flag, numberFlag, optionalString, parseArgs, rejectPositionals, required, UsageError } from './args.js';
import { acquireGpu } from './gpu-environment.js';
import { formatShape, loadCamInput, parseSize } from './tensors.js';

export const BENCH_HELP = `Usage: webgpu-cam bench --activations A.npy --gradients G.npy [--method cfcam] --batch N [options]

Builds a batch of N images from the input (one image is repeated; a [B,C,H,W] file is cycled),
times whole-batch GPU runs (wall time including upload and readback; per image = median / N),
times each GPU kernel once with timestamp queries, times the CPU fast path (backend cpu) on the
whole batch and the CPU reference on one image. The JSON report also gives the GPU's and the CPU
reference's process CPU time per image (cpuPerImageMs): on SwiftShader, which runs the kernels on
this process's threads, it varies less with other load than wall time.

Options:
  --method M              ${LAYER_METHODS.join(', ')} (default cfcam)
  --batch N               images per GPU call (default: the file's batch)
  --runs R                timed runs (default 5)
  --warmup W              untimed runs first (GPU: pipeline compilation; CPU: JIT) (default 1)
  --size S | HxW          output map size (default 224)
  --mode reference|bilateral      cfcam filter variant (default reference)
  --paths LIST            which of gpu, cpu-fast, cpu-reference to time (default all three)
  --no-cpu                skip the CPU fast path and the CPU reference (= --paths gpu)
  --json                  print one JSON object instead of a table
  -h, --help              this help`;

const SPEC = {
  activations: 'string',
  gradients: 'string',
  method: 'string',
  batch: 'string',
  runs: 'string',
  warmup: 'string',
  size: 'string',
  mode: 'string',
  paths: 'string',
  cpu: 'boolean',
  json: 'boolean',
  help: 'boolean',
} as const;

const DEFAULT_SIZE = '224';

/** The implementations `bench` can time: the GPU engine, the CPU backend's default (fast) path, the CPU reference. */
export const BENCH_PATHS = ['gpu', 'cpu-fast', 'cpu-reference'] as const;
export type BenchPath = (typeof BENCH_PATHS)[number];

function parsePaths(value: string | undefined, withCpu: boolean): Set<BenchPath> {
  if (value === undefined) return new Set(withCpu ? BENCH_PATHS : ['gpu']);
  const paths = value.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = paths.filter((p) => !(BENCH_PATHS as readonly string[]).includes(p));
  if (unknown.length || paths.length === 0) {
    throw new UsageError(`--paths: expected a comma list of ${BENCH_PATHS.join(', ')}, got "${value}"`);
  }
  if (!withCpu && paths.some((p) => p !== 'gpu')) throw new UsageError('--no-cpu contradicts --paths with a CPU path');
  return new Set(paths as BenchPath[]);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A batch of `n` images cycling through the images of `input`. */
function replicate(input: CamInput, n: number): CamInput {
  const { shape } = input;
  if (n === shape.batch) return input;
  const imageSize = shape.channels * shape.height * shape.width;
  const cycle = (source: Float32Array) => {
    const out = new Float32Array(n * imageSize);
    for (let b = 0; b < n; b++) {
      const from = (b % shape.batch) * imageSize;
      out.set(source.subarray(from, from + imageSize), b * imageSize);
    }
    return out;
  };
  return {
    shape: { ...shape, batch: n },
    activations: cycle(input.activations),
    gradients: input.gradients && cycle(input.gradients),
  };
}

function firstImage(input: CamInput): CamInput {
  const { shape } = input;
  const imageSize = shape.channels * shape.height * shape.width;
  return {
    shape: { ...shape, batch: 1 },
    activations: input.activations.subarray(0, imageSize),
    gradients: input.gradients?.subarray(0, imageSize),
  };
}

async function timeRuns(count: number, run: () => Promise<unknown>, cpuMs?: number[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
    cpuMs?.push(processCpuMs(cpuStart));
  }
  return times;
}

const round = (ms: number): number => Number(ms.toPrecision(6));

/**
 * Milliseconds of CPU time this process used since `start` (all its threads). SwiftShader runs
 * the GPU kernels on this process's threads, so on a shared machine this is a steadier measure
 * of the work than wall time, which grows with other processes' load.
 */
function processCpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

export async function runBench(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (flag(args, 'help')) {
    console.log(BENCH_HELP);
    return 0;
  }
  rejectPositionals(args, 'bench');
  const method = choice<CamMethod>(args, 'method', LAYER_METHODS, 'cfcam');
  const needsGradients = !GRADIENT_FREE_METHODS.has(method);
  const activationsPath = required(args, 'activations');
  const gradientsPath = needsGradients ? required(args, 'gradients', ` (method ${method} needs gradients)`) : optionalString(args, 'gradients');
  const size = parseSize(optionalString(args, 'size') ?? DEFAULT_SIZE);
  const runs = numberFlag(args, 'runs', { integer: true, min: 1 }) ?? 5;
  const warmup = numberFlag(args, 'warmup', { integer: true, min: 0 }) ?? 1;
  const batchFlag = numberFlag(args, 'batch', { integer: true, min: 1 });
  const mode = choice<CfcamMode>(args, 'mode', ['reference', 'bilateral'], 'reference');
  const paths = parsePaths(optionalString(args, 'paths'), flag(args, 'cpu', true));
  const json = flag(args, 'json');

  const loaded = loadCamInput({ activations: activationsPath, gradients: gradientsPath, size, checkGradients: needsGradients });
  const batch = batchFlag ?? loaded.input.shape.batch;
  const input = replicate(loaded.input, batch);
  const options = method === 'cfcam' ? { mode } : {};

  let gpu: { batchMs: number; perImageMs: number; runs: number; samplesMs: number[]; cpuPerImageMs: number } | null = null;
  let kernels: Record<string, { batchMs: number; perImageMs: number }> = {};
  let adapter: string | null = null;
  let timestampQuery = false;
  if (paths.has('gpu')) {
    const gpuEngine = await createCamEngine({ gpu: await acquireGpu('use `webgpu-cam cam --backend cpu` for CPU-only runs') });
    adapter = gpuEngine.adapterName;
    timestampQuery = gpuEngine.gpu?.timestampQuery ?? false;
    try {
      for (let i = 0; i < warmup; i++) await gpuEngine.compute(method, input, options);
      const cpuMs: number[] = [];
      const samples = await timeRuns(runs, () => gpuEngine.compute(method, input, options), cpuMs);
      const batchMs = median(samples);
      gpu = { perImageMs: round(batchMs / batch), batchMs: round(batchMs), runs, samplesMs: samples.map(round), cpuPerImageMs: round(median(cpuMs) / batch) };
      // Kernel timing gives each dispatch its own pass, which changes the wall time: a separate run.
      const kernelMs = (await gpuEngine.compute(method, input, { ...options, timing: 'kernel' })).stageMs;
      kernels = Object.fromEntries(
        Object.entries(kernelMs).map(([name, ms]) => [name, { batchMs: round(ms), perImageMs: round(ms / batch) }]),
      );
    } finally {
      gpuEngine.dispose();
    }
  }

  let cpuFast: { perImageMs: number; batchMs: number; runs: number; samplesMs: number[]; kernels: string } | null = null;
  if (paths.has('cpu-fast')) {
    // The CPU backend's default path, on the same batch as the GPU.
    const fastEngine: CamEngine = await createCamEngine({ backend: 'cpu' });
    for (let i = 0; i < warmup; i++) await fastEngine.compute(method, input, options);
    const samples = await timeRuns(runs, () => fastEngine.compute(method, input, options));
    const batchMs = median(samples);
    cpuFast = { perImageMs: round(batchMs / batch), batchMs: round(batchMs), runs, samplesMs: samples.map(round), kernels: fastEngine.adapterName };
  }

  let cpu: { perImageMs: number; runs: number; samplesMs: number[]; cpuPerImageMs: number } | null = null;
  if (paths.has('cpu-reference')) {
    const cpuEngine: CamEngine = await createCamEngine({ backend: 'cpu', cpuPath: 'reference' });
    const one = firstImage(input);
    // Warm up the CPU too, so the JIT has compiled the reference before it is timed.
    for (let i = 0; i < warmup; i++) await cpuEngine.compute(method, one, options);
    const cpuMs: number[] = [];
    const samples = await timeRuns(runs, () => cpuEngine.compute(method, one, options), cpuMs);
    cpu = { perImageMs: round(median(samples)), runs, samplesMs: samples.map(round), cpuPerImageMs: round(median(cpuMs)) };
  }

  const report = {
    method,
    ...(method === 'cfcam' ? { mode } : {}),
    shape: loaded.fileShape,
    outputSize: [size.height, size.width],
    batch,
    adapter,
    timestampQuery,
    gpu,
    cpuFast,
    cpu,
    speedup: cpu && gpu ? round(cpu.perImageMs / gpu.perImageMs) : null,
    cpuFastSpeedup: cpu && cpuFast ? round(cpu.perImageMs / cpuFast.perImageMs) : null,
    kernels,
  };
  if (json) console.log(JSON.stringify(report));
  else printTable(report);
  return 0;
}

function printTable(r: {
  method: string;
  shape: number[];
  outputSize: number[];
  batch: number;
  adapter: string | null;
  timestampQuery: boolean;
  gpu: { perImageMs: number; batchMs: number; runs: number } | null;
  cpuFast: { perImageMs: number; batchMs: number; runs: number; kernels: string } | null;
  cpu: { perImageMs: number; runs: number } | null;
  speedup: number | null;
  cpuFastSpeedup: number | null;
  kernels: Record<string, { batchMs: number; perImageMs: number }>;
}): void {
  const num = (v: number, width = 12) => v.toFixed(3).padStart(width);
  console.log(`${r.method} ${formatShape(r.shape)} -> ${r.outputSize.join('x')}, batch ${r.batch}${r.adapter ? `, on ${r.adapter}` : ''}`);
  console.log(`${''.padEnd(28)}${'ms/image'.padStart(12)}${'ms/batch'.padStart(12)}${'runs'.padStart(6)}`);
  if (r.gpu) console.log(`${'GPU (wall, median)'.padEnd(28)}${num(r.gpu.perImageMs)}${num(r.gpu.batchMs)}${String(r.gpu.runs).padStart(6)}`);
  if (r.cpuFast) console.log(`${'CPU fast (median)'.padEnd(28)}${num(r.cpuFast.perImageMs)}${num(r.cpuFast.batchMs)}${String(r.cpuFast.runs).padStart(6)}  ${r.cpuFast.kernels}`);
  if (r.cpu) console.log(`${'CPU reference (median)'.padEnd(28)}${num(r.cpu.perImageMs)}${'-'.padStart(12)}${String(r.cpu.runs).padStart(6)}`);
  if (r.speedup !== null) console.log(`speedup (CPU reference / GPU per image): ${r.speedup.toFixed(2)}x`);
  if (r.cpuFastSpeedup !== null) console.log(`speedup (CPU reference / CPU fast per image): ${r.cpuFastSpeedup.toFixed(2)}x`);
  const names = Object.keys(r.kernels);
  if (!r.gpu) return;
  if (names.length === 0) {
    console.log(r.timestampQuery ? 'no kernel times were reported' : 'no per-kernel times: this adapter has no timestamp queries');
    return;
  }
  const width = Math.max(28, ...names.map((n) => n.length + 2));
  console.log(`\n${'GPU kernel (timestamps)'.padEnd(width)}${'ms/batch'.padStart(12)}${'ms/image'.padStart(12)}`);
  for (const name of names) console.log(`${name.padEnd(width)}${num(r.kernels[name].batchMs)}${num(r.kernels[name].perImageMs)}`);
}
