/**
 * The browser benchmark page (bench.html). Runs a matrix of methods x layer shapes x batch
 * sizes on this browser's WebGPU adapter and exposes the results on `window.__bench` for the
 * runner (bench/browser.ts, headless Chrome through puppeteer), which polls it. In model mode
 * (`config.model`) it times ORT Web + each method per image on an ONNX model instead.
 *
 * The matrix comes from `window.__benchConfig` (set by the runner before the page loads) or
 * from URL parameters (methods, shapes, batches, runs, warmup, budget, cpu, size, autostart).
 *
 * Per case: `warmup` untimed calls (skipped when a smaller batch of the same method and layer
 * already ran and one call is predicted to take more than a quarter of the case budget); one
 * untimed call with timing 'kernel' (timestamp queries around each dispatch, keyed
 * 'stage/kernel'; a call of its own because one pass per dispatch changes the wall time); then
 * up to `runs` timed calls of `engine.compute` (wall time: upload, all kernels, readback of the
 * maps) while the case's budget lasts (at least one). A case predicted to take longer than `maxCallMs` per call (from the previous batch
 * size of the same method and layer) is skipped and reported as skipped. The CPU reference runs
 * once per (method, layer) on image 0 (its time per image does not depend on the batch),
 * skipped when its estimated time is above `cpuMaxEstimateMs`.
 */
import { createCamEngine, GpuUnavailableError, type CamEngine, type CamRun } from '../engine/index.js';
import type { GpuContext } from '../engine/gpu/context.js';
import { Recorder } from '../engine/gpu/recorder.js';
import { encodeCam } from '../engine/methods/encode.js';
import { listCandidateLayers } from '../engine/model/candidates.js';
import { buildGradientModel } from '../engine/model/gradient-graph.js';
import { createModelSession, type OrtModule, type SessionRun } from '../engine/model/session.js';
import { computeCamCpu } from '../engine/methods/compute-cpu.js';
import { type CamInput, type CamOptions, type CfcamMode } from '../engine/types.js';
import type { CamMethod } from '../engine/methods/registry.js';
import { CAM_METHODS, GRADIENT_FREE_METHODS, LAYER_METHODS } from '../engine/methods/registry.js';
import { benchImageTensor, benchInput, formatLayerShape, mulberry32, parseLayerShape, sliceBatch, type LayerShape } from './bench-data.js';
import { ModelExplainer } from '../engine/model/explainer.js';

export interface BenchConfig {
  methods: CamMethod[];
  /** Layer shapes 'CxHxW'. */
  shapes: string[];
  batches: number[];
  /** Most timed GPU runs per case. */
  runs: number;
  /** Untimed GPU runs before timing. */
  warmup: number;
  /** Time budget per case for the timed GPU runs (ms): runs stop early when it is spent (at least one run). */
  budgetMs: number;
  /** Run the CPU reference (once per method and layer, on image 0). */
  cpu: boolean;
  /** Most timed CPU runs (after one warm-up run that also serves as the estimate). */
  cpuRuns: number;
  /** Budget for the CPU runs of one (method, layer) (ms). */
  cpuBudgetMs: number;
  /** Skip the CPU reference when its estimated time for one image is above this (ms). */
  cpuMaxEstimateMs: number;
  /**
   * Skip a case whose one call is predicted to take longer than this (ms), predicted linearly in
   * the batch from the previous batch size of the same method and layer.
   */
  maxCallMs: number;
  /** Output map size (square). */
  outSize: number;
  /** CF-CAM filter mode. */
  mode: CfcamMode;
  /** Model-included mode: time ORT (forward + gradient graph) plus each method per image instead of the layer matrix. */
  model?: ModelConfig;
}

export interface ModelConfig {
  /** URL of the .onnx file. */
  url: string;
  /** Name to report. */
  name: string;
  /** Target layer (a node output name); default: the deepest candidate layer. */
  layer?: string;
  /** URL of ORT's WebGPU build (onnxruntime-web/dist/ort.webgpu.min.mjs). */
  ortUrl: string;
  /** URL of the folder with ORT's wasm files (ort.env.wasm.wasmPaths). */
  wasmPaths: string;
}

export const DEFAULT_CONFIG: BenchConfig = {
  methods: ['cfcam', 'gradcam'],
  shapes: ['256x7x7', '512x14x14'],
  batches: [1, 8],
  runs: 3,
  warmup: 1,
  budgetMs: 10_000,
  cpu: true,
  cpuRuns: 3,
  cpuBudgetMs: 5_000,
  cpuMaxEstimateMs: 15_000,
  maxCallMs: 60_000,
  outSize: 224,
  mode: 'reference',
};

export interface KernelTime {
  batchMs: number;
  perImageMs: number;
}

export interface CaseResult {
  /** 'layer': a synthetic layer of the matrix; 'model': ORT forward + CAM on a model (--model). */
  kind: 'layer' | 'model';
  method: CamMethod;
  layer: string;
  channels: number;
  height: number;
  width: number;
  batch: number;
  outSize: number;
  ok: boolean;
  error?: string;
  /** Why the case was not run (ok is false, but this is not a failure). */
  skipped?: string;
  warmupMs: number[];
  gpu?: {
    runs: number;
    samplesMs: number[];
    /** Median wall time of one batch call. */
    batchMs: number;
    perImageMs: number;
    imagesPerSecond: number;
  };
  /** GPU ms per 'stage/kernel' (timestamp queries), whole batch and per image; empty without timestamp queries. */
  kernels: Record<string, KernelTime>;
  /** Sum of the kernel times per image. */
  kernelsPerImageMs?: number;
  cpu?: { perImageMs: number; runs: number; samplesMs: number[] } | { skipped: string; estimateMs?: number };
  /** CPU ms per image / GPU wall ms per image. */
  speedup?: number;
  /** Largest |GPU map - CPU map| on image 0 (when the CPU reference ran). */
  maxAbsDiffVsCpu?: number;
  /** CF-CAM on image 0: what DBSCAN found. */
  cfcam?: { eps: number; clusters: number; important: number; noise: number; minSamples: number };
  /** Model cases: per-image ORT time (forward with the gradient graph) and CAM time (wall, medians). */
  model?: { name: string; target: string; inputShape: number[]; forwardMs: number; camMs: number; camSamplesMs: number[] };
  notes: string[];
}

export interface BenchState {
  status: 'idle' | 'running' | 'done' | 'error';
  error?: string;
  config?: BenchConfig;
  backend?: string;
  adapter?: string;
  timestampQuery?: boolean;
  userAgent: string;
  startedAt?: string;
  finishedAt?: string;
  total: number;
  done: number;
  current?: string;
  cases: CaseResult[];
  /** Model mode: how ORT ran. */
  model?: {
    name: string;
    target: string;
    activationsShape: number[];
    inputShape: number[];
    ortBackend: string;
    fallbackReason?: string;
    sharesDevice?: boolean;
    forwardSamplesMs: number[];
    forwardMs?: number;
    topClass?: number;
  };
}

declare global {
  interface Window {
    __bench: BenchState;
    __benchConfig?: Partial<BenchConfig>;
  }
}

const round = (v: number): number => Number(v.toPrecision(6));

/** A case's timing summary: the timed samples, the representative batch time and per-image figures. */
function gpuTiming(samplesMs: readonly number[], batchMs: number, batch: number): NonNullable<CaseResult['gpu']> {
  return {
    runs: samplesMs.length,
    samplesMs: samplesMs.map(round),
    batchMs: round(batchMs),
    perImageMs: round(batchMs / batch),
    imagesPerSecond: round((1000 * batch) / batchMs),
  };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Rough CPU reference time for one image (ms), from operation counts at ~3.5 ns per multiply-add (V8, measured on SwiftShader hosts). */
export function estimateCpuMs(method: CamMethod, s: LayerShape, outSize: number): number {
  const C = s.channels;
  const HW = s.height * s.width;
  const NS_PER_OP = 3.5;
  let ops = C * HW * 4 + outSize * outSize * 8;
  if (method === 'cfcam') ops += (C * C * HW) / 2;
  if (method === 'eigencam') {
    const n = Math.min(C, HW);
    ops += (n * n * Math.max(C, HW)) / 2 + 10 * n * n * n;
  }
  return (ops * NS_PER_OP) / 1e6;
}

function mergeConfig(partial: Partial<BenchConfig>): BenchConfig {
  const config = { ...DEFAULT_CONFIG, ...partial };
  for (const m of config.methods) {
    if (!(CAM_METHODS as readonly string[]).includes(m)) throw new Error(`unknown method '${m}' (known: ${CAM_METHODS.join(', ')})`);
  }
  for (const s of config.shapes) parseLayerShape(s);
  for (const b of config.batches) if (!Number.isInteger(b) || b < 1) throw new Error(`bad batch size ${b}`);
  return config;
}

function configFromUrl(params: URLSearchParams): Partial<BenchConfig> {
  const out: Partial<BenchConfig> = {};
  const list = (name: string) => params.get(name)?.split(',').map((s) => s.trim()).filter(Boolean);
  const num = (name: string) => (params.has(name) ? Number(params.get(name)) : undefined);
  if (params.has('config')) Object.assign(out, JSON.parse(params.get('config')!));
  const methods = list('methods');
  if (methods) out.methods = methods as CamMethod[];
  const shapes = list('shapes');
  if (shapes) out.shapes = shapes;
  const batches = list('batches');
  if (batches) out.batches = batches.map(Number);
  if (num('runs') !== undefined) out.runs = num('runs');
  if (num('warmup') !== undefined) out.warmup = num('warmup');
  if (num('budget') !== undefined) out.budgetMs = num('budget')! * 1000;
  if (num('size') !== undefined) out.outSize = num('size');
  if (num('maxcall') !== undefined) out.maxCallMs = num('maxcall')! * 1000;
  if (params.has('cpu')) out.cpu = params.get('cpu') !== '0';
  if (params.get('mode') === 'bilateral') out.mode = 'bilateral';
  return out;
}

const statusEl = document.querySelector<HTMLDivElement>('#status')!;
const tbody = document.querySelector<HTMLTableSectionElement>('#results tbody')!;
const startButton = document.querySelector<HTMLButtonElement>('#start')!;
const matrixEl = document.querySelector<HTMLSpanElement>('#matrix')!;

window.__bench = { status: 'idle', userAgent: navigator.userAgent, total: 0, done: 0, cases: [] };

function show(text: string, notice = false): void {
  statusEl.textContent = text;
  statusEl.classList.toggle('notice', notice);
}

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function addRow(c: CaseResult): void {
  const tr = document.createElement('tr');
  const cells: string[] = [c.method, c.layer, String(c.batch)];
  if (!c.ok || !c.gpu) {
    tr.append(...cells.map((v) => cell(v)));
    const td = cell(c.skipped ? `skipped: ${c.skipped}` : (c.error ?? 'failed'), 'error');
    td.colSpan = 6;
    tr.append(td);
  } else {
    const cpu = c.cpu && 'perImageMs' in c.cpu ? c.cpu.perImageMs.toFixed(2) : c.cpu ? 'skipped' : '-';
    cells.push(
      c.gpu.perImageMs.toFixed(2),
      c.gpu.imagesPerSecond.toFixed(1),
      c.kernelsPerImageMs !== undefined ? c.kernelsPerImageMs.toFixed(2) : '-',
      cpu,
      c.speedup !== undefined ? `${c.speedup.toFixed(1)}x` : '-',
      String(c.gpu.runs),
    );
    tr.append(...cells.map((v) => cell(v)));
  }
  tbody.append(tr);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface CpuResult {
  value: NonNullable<CaseResult['cpu']>;
  map?: Float32Array;
}

/** CPU reference on image 0 of `input`: one warm-up run (also the estimate), then timed runs within the budget. */
async function timeCpu(method: CamMethod, input: CamInput, config: BenchConfig, shape: LayerShape): Promise<CpuResult> {
  const estimateMs = round(estimateCpuMs(method, shape, config.outSize));
  if (estimateMs > config.cpuMaxEstimateMs) {
    return { value: { skipped: `estimated ${estimateMs.toFixed(0)} ms per image > cpuMaxEstimateMs ${config.cpuMaxEstimateMs}`, estimateMs } };
  }
  const one = sliceBatch(input, 1);
  const options = method === 'cfcam' ? { mode: config.mode } : {};
  let started = performance.now();
  const first = computeCamCpu(method, one, options);
  const firstMs = performance.now() - started;
  const samples: number[] = [];
  // When the warm-up alone used the budget, it is the measurement (runs: 0 says so).
  let spent = firstMs;
  for (let i = 0; i < config.cpuRuns && spent + firstMs <= config.cpuBudgetMs; i++) {
    // Yield between runs so the page stays responsive and the runner's polls get through.
    await new Promise((r) => setTimeout(r, 0));
    started = performance.now();
    computeCamCpu(method, one, options);
    const ms = performance.now() - started;
    samples.push(ms);
    spent += ms;
  }
  const perImageMs = samples.length > 0 ? median(samples) : firstMs;
  return { value: { perImageMs: round(perImageMs), runs: samples.length, samplesMs: samples.map(round) }, map: first.maps };
}

async function runCase(
  engine: CamEngine,
  method: CamMethod,
  shape: LayerShape,
  input: CamInput,
  config: BenchConfig,
  cpu: CpuResult | undefined,
  previous: CaseResult | undefined,
): Promise<CaseResult> {
  const batch = input.shape.batch;
  const result: CaseResult = {
    kind: 'layer',
    method,
    layer: formatLayerShape(shape),
    ...shape,
    batch,
    outSize: config.outSize,
    ok: false,
    warmupMs: [],
    kernels: {},
    notes: [],
  };
  const options = method === 'cfcam' ? { mode: config.mode } : {};
  try {
    // Warm-up (pipelines compiled, pool buffers allocated; on SwiftShader the first dispatches
    // of a new pipeline are also slower inside the GPU timestamps). When a smaller batch of this
    // method and layer already ran and one call is predicted to cost more than a quarter of the
    // case budget, the kernel-timing call below is the only warm-up.
    let t: number;
    const predictedMs = previous?.gpu ? previous.gpu.perImageMs * batch : undefined;
    if (config.warmup > 0 && predictedMs !== undefined && predictedMs > config.budgetMs / 4) {
      result.notes.push(`warm-up = the kernel-timing call (one call predicted ${(predictedMs / 1000).toFixed(1)} s > budget/4)`);
    } else {
      for (let i = 0; i < config.warmup; i++) {
        t = performance.now();
        await engine.compute(method, input, options);
        result.warmupMs.push(round(performance.now() - t));
      }
    }
    // Per-kernel GPU times: timestamp queries around every dispatch, in a call of its own (one
    // compute pass per dispatch changes the wall time), not counted in the wall time.
    t = performance.now();
    const timed = await engine.compute(method, input, { ...options, timing: 'kernel' });
    result.warmupMs.push(round(performance.now() - t));
    let total = 0;
    for (const [name, ms] of Object.entries(timed.stageMs)) {
      result.kernels[name] = { batchMs: round(ms), perImageMs: round(ms / batch) };
      total += ms;
    }
    if (Object.keys(timed.stageMs).length > 0) result.kernelsPerImageMs = round(total / batch);
    else result.notes.push(engine.gpu?.timestampQuery ? 'no kernel times reported' : 'no timestamp queries on this adapter');
    const samples: number[] = [];
    let spent = 0;
    let last: CamRun | undefined;
    for (let i = 0; i < config.runs; i++) {
      // Stop when the next run would likely overrun the budget (always at least one timed run).
      if (i > 0 && spent + spent / i > config.budgetMs) {
        result.notes.push(`${i} of ${config.runs} runs (case budget ${(config.budgetMs / 1000).toFixed(0)} s)`);
        break;
      }
      t = performance.now();
      last = await engine.compute(method, input, options);
      const ms = performance.now() - t;
      samples.push(ms);
      spent += ms;
    }
    const batchMs = median(samples);
    result.gpu = gpuTiming(samples, batchMs, batch);
    const details = (last ?? timed).cfcam;
    if (details) {
      result.cfcam = {
        eps: round(details.eps[0]),
        clusters: details.clusters[0],
        important: details.important[0],
        noise: details.noise[0],
        minSamples: details.minSamples[0],
      };
    }
    if (cpu) {
      result.cpu = cpu.value;
      if ('perImageMs' in cpu.value) result.speedup = round(cpu.value.perImageMs / result.gpu.perImageMs);
      if (cpu.map && last) {
        const image = config.outSize * config.outSize;
        result.maxAbsDiffVsCpu = Number(maxAbsDiff(last.maps.subarray(0, image), cpu.map).toExponential(3));
      }
    }
    result.ok = true;
  } catch (error) {
    result.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  return result;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Model-included mode: per image, ORT runs the model rewritten by the gradient-graph builder
 * (one run gives logits, the target layer's activations and d logit / d activations, the top-1
 * class chosen inside the graph), then each method runs on ORT's output buffers (no copies when
 * ORT shares our device). Each iteration is one forward run followed by every method; the first
 * iteration (per-kernel CAM timings) and `warmup` more are untimed. Forward time is measured up
 * to the device going idle (ORT's GPU work included).
 */
async function runModel(ctx: GpuContext, config: BenchConfig, state: BenchState): Promise<void> {
  const m = config.model!;
  show(`Loading ONNX Runtime Web and ${m.name}…`);
  const ort = (await import(/* @vite-ignore */ m.ortUrl)) as OrtModule;
  ort.env.wasm.wasmPaths = m.wasmPaths;
  const response = await fetch(m.url);
  if (!response.ok) throw new Error(`cannot load the model from ${m.url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const target = m.layer ?? listCandidateLayers(bytes)[0]?.name;
  if (!target) throw new Error('the model has no 4-D feature layer on the path to its logits; pass --layer');
  const gm = buildGradientModel(bytes, { target });
  const { activations: actName, gradients: gradName, logits: logitsName } = gm.outputs;
  const session = await createModelSession(gm.bytes, { ort, context: ctx, gpuOutputs: [actName, gradName] });
  const [batch, channels, height, width] = gm.activationsShape;
  const [, , outHeight, outWidth] = gm.inputShape;
  const shape = { batch, channels, height, width, outHeight, outWidth };
  const layerText = `model ${m.name}`;
  const feed = {
    [gm.inputName]: { data: benchImageTensor(gm.inputShape), dims: gm.inputShape },
    [gm.classInputName]: { data: new BigInt64Array(batch).fill(-1n), dims: [batch] },
  };
  const info: NonNullable<BenchState['model']> = {
    name: m.name,
    target,
    activationsShape: [...gm.activationsShape],
    inputShape: [...gm.inputShape],
    ortBackend: session.backend,
    ...(session.fallbackReason ? { fallbackReason: session.fallbackReason } : {}),
    forwardSamplesMs: [],
  };
  state.model = info;

  const forward = async (): Promise<{ run: SessionRun; ms: number }> => {
    const t = performance.now();
    const run = await session.run(feed, { host: [logitsName], gpu: [actName, gradName] });
    await ctx.device.queue.onSubmittedWorkDone();
    return { run, ms: performance.now() - t };
  };
  const cam = async (method: CamMethod, run: SessionRun, timing: boolean): Promise<{ ms: number; stageMs: Record<string, number> }> => {
    const a = run.gpu[actName];
    const g = run.gpu[gradName];
    const options: CamOptions = method === 'cfcam' ? { mode: config.mode } : {};
    const t = performance.now();
    const rec = new Recorder(ctx, { timing: timing ? 'kernel' : 'off', label: method });
    try {
      const encoded = encodeCam(
        rec,
        method,
        {
          shape,
          activations: { buffer: a.buffer, offset: a.offset, size: a.size },
          gradients: GRADIENT_FREE_METHODS.has(method) ? null : { buffer: g.buffer, offset: g.offset, size: g.size },
        },
        options,
      );
      rec.read(encoded.map, batch * outHeight * outWidth * 4);
    } catch (error) {
      rec.abandon();
      throw error;
    }
    const { stageMs } = await rec.submit();
    return { ms: performance.now() - t, stageMs };
  };

  // Score-CAM, ClusCAM and Soft-CAM go through the whole model pipeline instead (see runPipeline).
  const direct = config.methods.filter((m) => !PIPELINE_METHODS.has(m));
  const results = new Map<CamMethod, CaseResult>();
  const camSamples = new Map<CamMethod, number[]>();
  for (const method of direct) {
    results.set(method, {
      kind: 'model',
      method,
      layer: layerText,
      channels,
      height,
      width,
      batch,
      outSize: outHeight,
      ok: true,
      warmupMs: [],
      kernels: {},
      notes: [`target ${target} [${gm.activationsShape.join(',')}], ORT ${session.backend}${session.sharesDevice === false ? ' (outputs copied: ORT did not share the device)' : ''}`],
    });
    camSamples.set(method, []);
  }
  const forwardSamples: number[] = [];
  let spent = 0;
  try {
    const iterations = 1 + config.warmup + config.runs;
    for (let i = 0; i < iterations; i++) {
      const timedIndex = i - 1 - config.warmup;
      if (direct.length === 0) break;
      if (timedIndex > 0 && spent + spent / timedIndex > config.budgetMs * direct.length) {
        for (const r of results.values()) r.notes.push(`${timedIndex} of ${config.runs} runs (budget ${(config.budgetMs / 1000).toFixed(0)} s per method)`);
        break;
      }
      state.current = `${layerText}: ${i === 0 ? 'kernel timing' : timedIndex < 0 ? 'warm-up' : `run ${timedIndex + 1}`}`;
      show(`${state.current}…`);
      const started = performance.now();
      const { run, ms } = await forward();
      try {
        if (info.sharesDevice === undefined && session.sharesDevice !== undefined) info.sharesDevice = session.sharesDevice;
        if (i === 0) info.topClass = argmax(run.host[logitsName].data as Float32Array);
        if (timedIndex >= 0) forwardSamples.push(ms);
        for (const method of direct) {
          const r = results.get(method)!;
          if (!r.ok) continue;
          try {
            const c = await cam(method, run, i === 0);
            if (i === 0) {
              let total = 0;
              for (const [name, kms] of Object.entries(c.stageMs)) {
                r.kernels[name] = { batchMs: round(kms), perImageMs: round(kms / batch) };
                total += kms;
              }
              if (total > 0) r.kernelsPerImageMs = round(total / batch);
            }
            if (timedIndex >= 0) camSamples.get(method)!.push(c.ms);
            else r.warmupMs.push(round(ms + c.ms));
          } catch (error) {
            r.ok = false;
            r.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          }
        }
      } finally {
        run.dispose();
      }
      if (timedIndex >= 0) spent += performance.now() - started;
    }
  } finally {
    await session.dispose();
  }
  info.forwardSamplesMs = forwardSamples.map(round);
  const forwardMs = median(forwardSamples);
  info.forwardMs = round(forwardMs);
  for (const method of direct) {
    const r = results.get(method)!;
    const samples = camSamples.get(method)!;
    if (r.ok && samples.length > 0) {
      const camMs = median(samples);
      const batchMs = forwardMs + camMs;
      r.gpu = gpuTiming(samples, batchMs, batch);
      r.model = { name: m.name, target, inputShape: [...gm.inputShape], forwardMs: round(forwardMs), camMs: round(camMs), camSamplesMs: samples.map(round) };
    } else if (r.ok) {
      r.ok = false;
      r.error = 'no timed run';
    }
    state.cases.push(r);
    state.done++;
    addRow(r);
  }
  const pipelined = config.methods.filter((m) => PIPELINE_METHODS.has(m));
  if (pipelined.length > 0) await runPipeline(ctx, config, state, { ort, bytes, target, name: m.name }, pipelined);
}

/** Methods the model-included mode times through ModelExplainer (the model runs between GPU steps, or a Soft-CAM evidence map). */
/** Methods that need the model or a Soft-CAM model's evidence layer: timed through the whole pipeline. */
const PIPELINE_METHODS: ReadonlySet<CamMethod> = new Set(CAM_METHODS.filter((m) => !LAYER_METHODS.includes(m)));

/** A deterministic RGBA test picture for the whole-pipeline cases. */
function benchRgba(width: number, height: number, seed = 11): { width: number; height: number; data: Uint8ClampedArray } {
  const random = mulberry32(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : Math.floor(random() * 256);
  return { width, height, data };
}

/**
 * Model-included mode for Score-CAM, ClusCAM and Soft-CAM: per image, ModelExplainer's whole
 * pipeline (pre-processing, the model with the target layer's outputs on ORT's wasm EP, then the
 * method on our GPU engine; Score-CAM and ClusCAM also run the model on their masked inputs in
 * batches). Reported per image: the model's forward time and the CAM time (masked forwards
 * included), medians over the timed runs; the first run gives the per-stage GPU times.
 */
async function runPipeline(
  ctx: GpuContext,
  config: BenchConfig,
  state: BenchState,
  model: { ort: OrtModule; bytes: Uint8Array; target: string; name: string },
  methods: CamMethod[],
): Promise<void> {
  // An engine on the benchmark's context (its owner disposes the context).
  const engine = await createCamEngine({ context: ctx });
  const explainer = await ModelExplainer.create({ model: model.bytes, layer: model.target, engine, ort: model.ort });
  const [height, width] = explainer.inputSize;
  const image = benchRgba(width, height);
  const [, channels, layerHeight, layerWidth] = explainer.gradientModel.activationsShape;
  try {
    for (const method of methods) {
      const r: CaseResult = {
        kind: 'model',
        method,
        layer: `model ${model.name}`,
        channels,
        height: layerHeight,
        width: layerWidth,
        batch: 1,
        outSize: height,
        ok: true,
        warmupMs: [],
        kernels: {},
        notes: [`target ${model.target}; whole pipeline (ModelExplainer: ORT wasm EP for the model, the GPU engine for the method)`],
      };
      const totals: number[] = [];
      const forwards: number[] = [];
      const cams: number[] = [];
      let spent = 0;
      try {
        for (let i = 0; i < 1 + config.warmup + config.runs; i++) {
          const timedIndex = i - 1 - config.warmup;
          if (timedIndex > 0 && spent + spent / timedIndex > config.budgetMs) {
            r.notes.push(`${timedIndex} of ${config.runs} runs (budget ${(config.budgetMs / 1000).toFixed(0)} s)`);
            break;
          }
          state.current = `model ${model.name} ${method}: ${i === 0 ? 'stage timing' : timedIndex < 0 ? 'warm-up' : `run ${timedIndex + 1}`}`;
          show(`${state.current}…`);
          const started = performance.now();
          const e = await explainer.explain(image, { method, camOptions: method === 'cfcam' ? { mode: config.mode } : {} });
          const ms = performance.now() - started;
          if (i === 0) {
            let total = 0;
            for (const [stage, kms] of Object.entries(e.stageMs)) {
              r.kernels[stage] = { batchMs: round(kms), perImageMs: round(kms) };
              total += kms;
            }
            if (total > 0) r.kernelsPerImageMs = round(total);
          }
          if (timedIndex >= 0) {
            totals.push(ms);
            forwards.push(e.timings.modelMs);
            cams.push(e.timings.camMs);
            spent += ms;
          } else {
            r.warmupMs.push(round(ms));
          }
        }
        r.gpu = gpuTiming(totals, median(totals), 1);
        r.model = { name: model.name, target: model.target, inputShape: [...explainer.gradientModel.inputShape], forwardMs: round(median(forwards)), camMs: round(median(cams)), camSamplesMs: cams.map(round) };
      } catch (error) {
        r.ok = false;
        r.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      state.cases.push(r);
      state.done++;
      addRow(r);
    }
  } finally {
    await explainer.dispose();
  }
}

/** The layer matrix: every method x layer shape x batch size on synthetic layers. */
async function runMatrix(engine: CamEngine, config: BenchConfig, state: BenchState): Promise<void> {
  const shapes = config.shapes.map(parseLayerShape);
  const batches = [...config.batches].sort((a, b) => a - b);
  const largest = batches[batches.length - 1];
  for (const shape of shapes) {
    const layer = formatLayerShape(shape);
    // One input per layer at the largest batch; smaller batches are its first images.
    show(`Generating ${layer} x ${largest} synthetic images…`);
    await new Promise((r) => setTimeout(r, 0));
    const full = benchInput(shape, largest, config.outSize);
    for (const method of config.methods) {
      let cpu: CpuResult | undefined;
      if (config.cpu) {
        state.current = `${method} ${layer} CPU reference`;
        show(`${state.done}/${state.total} done; running ${state.current}…`);
        await new Promise((r) => setTimeout(r, 0));
        try {
          cpu = await timeCpu(method, full, config, shape);
        } catch (error) {
          cpu = { value: { skipped: `CPU reference failed: ${error instanceof Error ? error.message : String(error)}` } };
        }
      }
      let previous: CaseResult | undefined;
      for (const batch of batches) {
        state.current = `${method} ${layer} batch ${batch}`;
        show(`${state.done}/${state.total} done; running ${state.current} on ${engine.adapterName}…`);
        const predictedMs = previous?.gpu ? previous.gpu.perImageMs * batch : undefined;
        let c: CaseResult;
        if (predictedMs !== undefined && predictedMs > config.maxCallMs) {
          c = {
            kind: 'layer', method, layer, ...shape, batch, outSize: config.outSize, ok: false, warmupMs: [], kernels: {}, notes: [],
            skipped: `one call predicted to take ${(predictedMs / 1000).toFixed(0)} s (batch ${previous!.batch}: ${previous!.gpu!.perImageMs.toFixed(0)} ms per image) > maxCallMs ${(config.maxCallMs / 1000).toFixed(0)} s`,
          };
        } else {
          c = await runCase(engine, method, shape, sliceBatch(full, batch), config, cpu, previous);
        }
        if (c.gpu) previous = c;
        state.cases.push(c);
        state.done++;
        addRow(c);
      }
    }
  }
}

export async function runBenchmark(partial: Partial<BenchConfig>): Promise<BenchState> {
  const state = window.__bench;
  const config = mergeConfig(partial);
  Object.assign(state, {
    status: 'running',
    config,
    startedAt: new Date().toISOString(),
    total: config.methods.length * (config.model ? 1 : config.shapes.length * config.batches.length),
    done: 0,
    cases: [],
  });
  tbody.replaceChildren();
  startButton.disabled = true;
  let engine: CamEngine;
  try {
    engine = await createCamEngine();
  } catch (error) {
    if (error instanceof GpuUnavailableError) throw new Error(`WebGPU is not available in this browser: ${error.message}`);
    throw error;
  }
  state.backend = engine.backend;
  state.adapter = engine.adapterName;
  state.timestampQuery = engine.gpu?.timestampQuery ?? false;
  try {
    if (config.model) await runModel(engine.gpu!, config, state);
    else await runMatrix(engine, config, state);
  } finally {
    engine.dispose();
  }
  state.current = undefined;
  state.finishedAt = new Date().toISOString();
  state.status = 'done';
  const failed = state.cases.filter((c) => !c.ok && !c.skipped).length;
  const skipped = state.cases.filter((c) => c.skipped).length;
  show(`Done: ${state.cases.length} cases on ${state.adapter}${failed ? `, ${failed} failed` : ''}${skipped ? `, ${skipped} skipped` : ''}.`, failed > 0);
  startButton.disabled = false;
  return state;
}

function start(partial: Partial<BenchConfig>): void {
  runBenchmark(partial).catch((error: unknown) => {
    window.__bench.status = 'error';
    window.__bench.error = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
    show(`Error: ${error instanceof Error ? error.message : String(error)}`, true);
    startButton.disabled = false;
  });
}

const params = new URLSearchParams(location.search);
let initial: Partial<BenchConfig> | undefined;
try {
  initial = { ...configFromUrl(params), ...(window.__benchConfig ?? {}) };
  const shown = mergeConfig(initial);
  matrixEl.textContent = `${shown.methods.join(', ')} x ${shown.shapes.join(', ')} x batch ${shown.batches.join(', ')}; up to ${shown.runs} runs`;
} catch (error) {
  initial = undefined;
  const message = `Bad configuration: ${error instanceof Error ? error.message : String(error)}`;
  Object.assign(window.__bench, { status: 'error', error: message });
  show(message, true);
  startButton.disabled = true;
}
if (initial) {
  const config = initial;
  startButton.addEventListener('click', () => start(config));
  if (window.__benchConfig || params.get('autostart') === '1') start(config);
}
