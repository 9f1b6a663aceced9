/**
 * npm run bench -- --scaling: how CF-CAM's cost grows. Sweeps one axis at a time (channels C,
 * spatial size HxW, batch) on synthetic activations, times every path side by side at each
 * point (GPU engine, CPU fast path, CPU reference, and the Python reference when /usr/bin/python3
 * has torch and scikit-learn), and writes bench/out/scaling.json and bench/out/scaling.html
 * (log-log plots of ms/image against the pairwise work).
 *
 * The synthetic input is low-rank ReLU activations (as a trained layer's are: a few patterns
 * mixed per channel, so DBSCAN finds real clusters) and small random gradients, seeded, so
 * every run sees the same data.
 *
 * A path whose predicted time for the next point (the last measured time scaled by the work)
 * exceeds --max-call seconds is skipped there and marked so: SwiftShader at C=4096 would
 * otherwise take many minutes per point.
 *
 * Options: --axes c,hw,batch  --c 256,512,...  --hw 7,14,...  --batch 1,2,...
 *          --batch-shape CxHxW (the batch axis' image, default 2048x7x7)
 *          --runs R (default 2)  --max-call S (default 60)  --out DIR (default bench/out)
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// The built package (bench/run.mjs checks that dist/ exists before loading this module): the
// .npy writer the CLI reads, and the engine's seeded PRNG (an internal module the engine itself
// uses, so the package build keeps its export).
import { encodeNpy } from '../dist/engine/index.js';
import { mulberry32Stream } from '../dist/engine/util/prng.js';
import { python, pythonReferenceAvailable, root, runJson } from './bench-process.mjs';
import { scalingHtml } from './scaling-plot.mjs';

const NODE_PATHS = ['gpu', 'cpu-fast', 'cpu-reference'];

const DEFAULTS = {
  axes: ['c', 'hw', 'batch'],
  c: [256, 512, 1024, 2048, 4096],
  hw: [7, 14, 28, 56],
  batch: [1, 4, 16, 64],
  batchShape: [2048, 7, 7],
  hwChannels: 512,
  cSide: 7,
  runs: 2,
  maxCallS: 60,
  out: path.join(root, 'bench/out'),
};

/** @param {string} flag @param {string | undefined} value */
function positiveList(flag, value) {
  const list = (value ?? '').split(',').map(Number);
  if (!value || list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${flag} needs a comma list of positive integers, got '${value ?? ''}'`);
  return list;
}

/** @param {string[]} argv */
export function parseScalingArgs(argv) {
  const options = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--scaling':
        break;
      case '--axes': {
        const axes = value().split(',');
        const unknown = axes.filter((a) => !DEFAULTS.axes.includes(a));
        if (unknown.length > 0) throw new Error(`--axes: unknown axis ${unknown.join(', ')} (use c, hw, batch)`);
        options.axes = axes;
        break;
      }
      case '--c':
        options.c = positiveList(flag, value());
        break;
      case '--hw':
        options.hw = positiveList(flag, value());
        break;
      case '--batch':
        options.batch = positiveList(flag, value());
        break;
      case '--batch-shape': {
        const shape = value().split('x').map(Number);
        if (shape.length !== 3 || shape.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--batch-shape needs CxHxW, e.g. 2048x7x7`);
        options.batchShape = shape;
        break;
      }
      case '--runs':
        options.runs = positiveList(flag, value())[0];
        break;
      case '--max-call': {
        const s = Number(value());
        if (!(s > 0)) throw new Error('--max-call needs a positive number of seconds');
        options.maxCallS = s;
        break;
      }
      case '--out':
        options.out = path.resolve(value());
        break;
      default:
        throw new Error(`unknown option ${flag} (see the comment at the top of bench/scaling.mjs)`);
    }
  }
  return options;
}

/** Standard normal samples (Box-Muller). */
function normal(random) {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * relu(mix · patterns + noise): C channels built from a few spatial patterns, drawn from the
 * engine's seeded mulberry32 stream (so every run benchmarks the same data).
 */
export function syntheticLayer(channels, side, seed = 1) {
  const stream = mulberry32Stream(seed);
  const random = () => stream.nextUint32() / 4294967296;
  const pixels = side * side;
  const rank = 8;
  const patterns = Float32Array.from({ length: rank * pixels }, () => normal(random));
  const activations = new Float32Array(channels * pixels);
  const gradients = new Float32Array(channels * pixels);
  for (let c = 0; c < channels; c++) {
    const mix = Array.from({ length: rank }, () => (random() < 0.4 ? normal(random) : 0));
    for (let p = 0; p < pixels; p++) {
      let v = 0.1 * normal(random);
      for (let r = 0; r < rank; r++) v += mix[r] * patterns[r * pixels + p];
      activations[c * pixels + p] = Math.max(0, v);
      gradients[c * pixels + p] = 0.01 * normal(random);
    }
  }
  return { activations, gradients, shape: [channels, side, side] };
}

/** CF-CAM's dominant cost: distances between the m channels below the 75th-percentile norm. */
export function pairwiseWork([channels, h, w]) {
  const m = Math.round(channels * 0.75);
  return ((m * (m - 1)) / 2) * h * w;
}

/** The sweep's points: one axis varied, the others at their defaults. */
export function scalingPoints(options) {
  const points = [];
  for (const axis of options.axes) {
    if (axis === 'c') for (const c of options.c) points.push({ axis, value: c, shape: [c, options.cSide, options.cSide], batch: 1 });
    if (axis === 'hw') for (const s of options.hw) points.push({ axis, value: s, shape: [options.hwChannels, s, s], batch: 1 });
    if (axis === 'batch') for (const b of options.batch) points.push({ axis, value: b, shape: options.batchShape, batch: b });
  }
  return points;
}

/**
 * Seconds one bench call would spend on a path at `point`, from the last measurement on the
 * same axis: per-image time scaled by the work (or by the batch, on the batch axis), times the
 * images per call (the CPU reference times one image) and the warmup + timed runs.
 */
function predictedSeconds(pathName, point, previous, runs) {
  const last = previous?.[pathName];
  if (last === undefined || last === null) return 0;
  const growth = point.axis === 'batch' ? 1 : pairwiseWork(point.shape) / pairwiseWork(previous.shape);
  const images = pathName === 'cpu-reference' || pathName === 'python' ? 1 : point.batch;
  return (last * growth * images * (runs + 1)) / 1000;
}

const JSON_FIELD = { gpu: 'gpu', 'cpu-fast': 'cpuFast', 'cpu-reference': 'cpu' };

/** @param {ReturnType<typeof parseScalingArgs>} options */
export async function runScaling(options, log = console.log) {
  const withPython = pythonReferenceAvailable();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-scaling-'));
  const rows = [];
  let adapter = null;
  try {
    /** @type {Record<string, any>} */
    const lastOnAxis = {};
    for (const point of scalingPoints(options)) {
      const key = point.shape.join('x');
      const a = path.join(dir, `${key}-activations.npy`);
      const g = path.join(dir, `${key}-gradients.npy`);
      if (!existsSync(a)) {
        const layer = syntheticLayer(...point.shape.slice(0, 2));
        writeFileSync(a, encodeNpy(layer.activations, layer.shape));
        writeFileSync(g, encodeNpy(layer.gradients, layer.shape));
      }
      const previous = lastOnAxis[point.axis];
      const row = { axis: point.axis, value: point.value, shape: point.shape, batch: point.batch, work: pairwiseWork(point.shape), skipped: [] };
      const paths = NODE_PATHS.filter((p) => {
        const fits = predictedSeconds(p, point, previous, options.runs) <= options.maxCallS && previous?.[p] !== null;
        if (!fits) row.skipped.push(p);
        return fits;
      });
      for (const p of NODE_PATHS) row[p] = null;
      if (paths.length > 0) {
        const bench = runJson(process.execPath, [
          'bin/webgpu-cam.js', 'bench', '--activations', a, '--gradients', g, '--method', 'cfcam',
          '--batch', String(point.batch), '--runs', String(options.runs), '--paths', paths.join(','), '--json',
        ]);
        adapter = bench.adapter ?? adapter;
        for (const p of paths) row[p] = bench[JSON_FIELD[p]]?.perImageMs ?? null;
      }
      row.python = null;
      if (withPython && point.axis !== 'batch') {
        if (predictedSeconds('python', point, previous, options.runs) <= options.maxCallS && previous?.python !== null) {
          row.python = runJson(python, ['bench/python_reference.py', a, g, '224', String(options.runs)]).perImageMs;
        } else row.skipped.push('python');
      }
      rows.push(row);
      lastOnAxis[point.axis] = row;
      const fmt = (v) => (v === null ? '-'.padStart(9) : v.toFixed(2).padStart(9));
      log(
        `${point.axis.padEnd(5)} ${key.padEnd(11)} batch ${String(point.batch).padStart(2)}  gpu ${fmt(row.gpu)}  cpu-fast ${fmt(row['cpu-fast'])}  ` +
          `cpu-ref ${fmt(row['cpu-reference'])}  python ${fmt(row.python)}  ms/image` +
          (row.skipped.length > 0 ? `  (skipped as too slow: ${row.skipped.join(', ')})` : ''),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const report = { date: new Date().toISOString(), adapter, runs: options.runs, maxCallS: options.maxCallS, python: withPython, rows };
  mkdirSync(options.out, { recursive: true });
  writeFileSync(path.join(options.out, 'scaling.json'), JSON.stringify(report, null, 2));
  writeFileSync(path.join(options.out, 'scaling.html'), scalingHtml(report));
  log(`adapter: ${adapter ?? 'n/a'}`);
  log(`wrote ${path.relative(process.cwd(), path.join(options.out, 'scaling.json'))} and scaling.html`);
  return report;
}
