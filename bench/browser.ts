#!/usr/bin/env -S npx tsx
/**
 * npm run bench:browser: the GPU benchmark in headless Chrome. Serves src/demo/bench.html with
 * Vite, opens it in Chromium through puppeteer-core, lets the page run the matrix (methods x
 * layer shapes x batch sizes, see src/demo/bench.ts) and writes
 *   bench/out/browser-<date>.json, bench/out/browser-latest.json, bench/out/browser-latest.html.
 *
 * Default browser: /usr/bin/chromium with the SwiftShader WebGPU flags of scripts/chromium.ts
 * (no GPU needed). On a machine with a GPU, pass --chrome and --flags, e.g.
 *   npm run bench:browser -- --chrome /opt/google/chrome/chrome --flags "--enable-unsafe-webgpu --enable-features=Vulkan"
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';
import { CHROMIUM, WEBGPU_FLAGS } from '../scripts/chromium.js';
import type { BenchConfig, BenchState, CaseResult, ModelConfig } from '../src/demo/bench.js';
import { parseLayerShape } from '../src/demo/bench-data.js';
import type { CamMethod } from '../src/engine/methods/registry.js';
import { CAM_METHODS, LAYER_METHODS } from '../src/engine/methods/registry.js';
import { loadModelMetadata, readModelMetadata } from '../src/engine/model/metadata.js';
import { renderHtmlReport } from './report-html.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const HELP = `Usage: npm run bench:browser -- [options]

Runs the WebGPU CAM benchmark page (src/demo/bench.html) in headless Chrome and writes
bench/out/browser-<date>.json, bench/out/browser-latest.json and bench/out/browser-latest.html.

Matrix (defaults in brackets):
  --methods LIST     comma list of ${CAM_METHODS.join(', ')} [all]
  --shapes LIST      layer shapes CxHxW [2048x7x7,1024x14x14,512x28x28,256x56x56]
  --batches LIST     batch sizes [1,8,32]
  --runs N           most timed runs per case [5]; big cases stop early (--budget)
  --warmup N         untimed runs per case before timing [1]
  --budget S         seconds of timed runs per case [8]; at least one run is always made
  --max-call S       skip a case whose one call is predicted (from the previous batch size of
                     the same method and layer) to take longer than S seconds [60]
  --size N           output map size (square) [224]
  --mode M           CF-CAM filter: reference | bilateral [reference]
  --no-cpu           skip the CPU reference
  --cpu-runs N       most timed CPU reference runs per method and layer [3]
  --cpu-max-ms MS    skip the CPU reference where its estimated time per image is above MS [15000]
  --quick            a tiny matrix for smoke tests: cfcam,gradcam x 64x7x7 x batch 1,2, one run
                     (explicit options still win)
Model-included mode (instead of the layer matrix):
  --model PATH       an ONNX classifier (or a model folder with model.json, e.g. models/digits,
                     whose feature_layer is then the default target): per image, ORT Web (WebGPU EP on the page's device) runs
                     the model rewritten to also return the target layer's activations and
                     gradients, then each method runs on ORT's GPU buffers; reports ORT time,
                     CAM time and their sum per image (batch = the model's batch, usually 1)
  --layer NAME       target layer (a node output name) [the deepest candidate layer]
Browser:
  --chrome PATH      browser executable [${CHROMIUM}] (env CHROMIUM_PATH)
  --flags "..."      browser flags, replacing the SwiftShader defaults:
                     ${WEBGPU_FLAGS.join(' ')}
  --headful          show the browser window
  --timeout S        give up after S seconds in all [7200]
Output:
  --out DIR          output folder [bench/out]
  --json             print the report JSON on stdout instead of the table
  -h, --help         this help`;

export interface RunnerOptions {
  config: Partial<BenchConfig> & Pick<BenchConfig, 'methods' | 'shapes' | 'batches'>;
  chrome: string;
  flags: string[];
  headful: boolean;
  timeoutS: number;
  outDir: string;
  json: boolean;
}

const DEFAULTS = {
  methods: [...LAYER_METHODS] as CamMethod[],
  shapes: ['2048x7x7', '1024x14x14', '512x28x28', '256x56x56'],
  batches: [1, 8, 32],
  runs: 5,
  warmup: 1,
  budgetMs: 8_000,
  cpuRuns: 3,
  cpuMaxEstimateMs: 15_000,
  maxCallS: 60,
};

const QUICK = {
  methods: ['cfcam', 'gradcam'] as CamMethod[],
  shapes: ['64x7x7'],
  batches: [1, 2],
  runs: 1,
  warmup: 1,
  budgetMs: 5_000,
  cpuRuns: 1,
  maxCallS: 60,
};

class UsageError extends Error {}

/** Split a --flags string on whitespace, keeping "quoted parts" together. */
export function splitFlags(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/**
 * --model PATH: an .onnx file, or a model folder with a model.json (as models/digits/): its
 * "file" (looked up in the folder and in its build/ subfolder) and its feature_layer as the
 * default target layer.
 */
export function resolveModel(modelPath: string): { file: string; layer?: string } {
  const resolved = path.resolve(modelPath);
  if (!existsSync(resolved)) throw new UsageError(`--model: no such file or folder ${resolved}`);
  // The default layer comes from the model's metadata, read as `explain` reads it.
  if (!statSync(resolved).isDirectory()) return { file: resolved, layer: loadModelMetadata(resolved).featureLayer };
  const card = path.join(resolved, 'model.json');
  if (!existsSync(card)) throw new UsageError(`--model: ${resolved} is a folder without model.json; pass the .onnx file`);
  const json = JSON.parse(readFileSync(card, 'utf8')) as { file?: string };
  const candidates = json.file ? [path.join(resolved, json.file), path.join(resolved, 'build', json.file)] : [];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new UsageError(`--model: ${card} names file '${json.file ?? '?'}', not found in ${resolved} or its build/ folder (build the model first)`);
  return { file, layer: readModelMetadata(card).featureLayer };
}

export function parseRunnerArgs(argv: readonly string[]): RunnerOptions | 'help' {
  const values = new Map<string, string>();
  const bools = new Set<string>();
  const valued = ['methods', 'shapes', 'batches', 'runs', 'warmup', 'budget', 'size', 'mode', 'cpu-runs', 'cpu-max-ms', 'max-call', 'chrome', 'flags', 'timeout', 'out', 'model', 'layer'];
  const boolean = ['quick', 'no-cpu', 'headful', 'json', 'help'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      bools.add('help');
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (boolean.includes(name)) {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`);
      bools.add(name);
    } else if (valued.includes(name)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
        value = argv[++i];
      }
      values.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name} (see --help)`);
    }
  }
  if (bools.has('help')) return 'help';
  const base = bools.has('quick') ? QUICK : DEFAULTS;
  const list = (name: string) => values.get(name)?.split(',').map((s) => s.trim()).filter(Boolean);
  const int = (name: string, min: number): number | undefined => {
    const raw = values.get(name);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${raw}'`);
    return n;
  };
  const positive = (name: string): number | undefined => {
    const raw = values.get(name);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${raw}'`);
    return n;
  };
  // Model mode also runs the methods that need the model (Score-CAM, ClusCAM) by default.
  const methods = (list('methods') ?? (values.has('model') ? [...base.methods, 'scorecam', 'cluscam'] : base.methods)) as CamMethod[];
  for (const m of methods) {
    if (!(CAM_METHODS as readonly string[]).includes(m)) throw new UsageError(`unknown method '${m}' (known: ${CAM_METHODS.join(', ')})`);
  }
  const modelOnly = methods.filter((m) => !LAYER_METHODS.includes(m));
  if (modelOnly.length > 0 && !values.has('model')) {
    throw new UsageError(`${modelOnly.join(', ')} need a model, not a synthetic layer: add --model models/digits (softcam: --model models/softcam)`);
  }
  const shapes = list('shapes') ?? base.shapes;
  for (const s of shapes) {
    try {
      parseLayerShape(s);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const batches = (list('batches') ?? base.batches.map(String)).map((b) => {
    const n = Number(b);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`bad batch size '${b}'`);
    return n;
  });
  const mode = values.get('mode') ?? 'reference';
  if (mode !== 'reference' && mode !== 'bilateral') throw new UsageError(`--mode must be reference or bilateral, got '${mode}'`);
  if (methods.length === 0 || shapes.length === 0 || batches.length === 0) throw new UsageError('the matrix is empty');
  const budget = positive('budget');
  let model: ModelConfig | undefined;
  const modelPath = values.get('model');
  if (modelPath !== undefined) {
    const { file, layer } = resolveModel(modelPath);
    if (!values.has('layer') && layer) values.set('layer', layer);
    const ortDist = path.join(ROOT, 'node_modules/onnxruntime-web/dist');
    model = {
      url: `/@fs${file}`,
      name: path.basename(file),
      ...(values.has('layer') ? { layer: values.get('layer') } : {}),
      ortUrl: `/@fs${ortDist}/ort.webgpu.min.mjs`,
      wasmPaths: `/@fs${ortDist}/`,
    };
  } else if (values.has('layer')) {
    throw new UsageError('--layer needs --model');
  }
  const config: RunnerOptions['config'] = {
    methods,
    shapes,
    batches,
    runs: int('runs', 1) ?? base.runs,
    warmup: int('warmup', 0) ?? base.warmup,
    budgetMs: budget !== undefined ? budget * 1000 : base.budgetMs,
    cpu: !bools.has('no-cpu'),
    cpuRuns: int('cpu-runs', 1) ?? base.cpuRuns,
    cpuMaxEstimateMs: positive('cpu-max-ms') ?? DEFAULTS.cpuMaxEstimateMs,
    maxCallMs: (positive('max-call') ?? base.maxCallS) * 1000,
    outSize: int('size', 1) ?? 224,
    mode,
    ...(model ? { model } : {}),
  };
  return {
    config,
    chrome: values.get('chrome') ?? CHROMIUM,
    flags: values.has('flags') ? splitFlags(values.get('flags')!) : [...WEBGPU_FLAGS],
    headful: bools.has('headful'),
    timeoutS: positive('timeout') ?? 7200,
    outDir: path.resolve(values.get('out') ?? path.join(ROOT, 'bench/out')),
    json: bools.has('json'),
  };
}

export interface BrowserReport {
  kind: 'webgpu-cam browser benchmark';
  date: string;
  adapter: string | undefined;
  backend: string | undefined;
  timestampQuery: boolean | undefined;
  userAgent: string;
  browser: { executable: string; version: string; flags: string[] };
  host: { platform: string; cpus: string; cores: number; node: string };
  config: BenchConfig | undefined;
  model?: BenchState['model'];
  status: BenchState['status'];
  error?: string;
  durationS: number;
  pageErrors: string[];
  cases: CaseResult[];
}

async function startServer(extraAllowed: string[]): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    configFile: path.join(ROOT, 'vite.config.ts'),
    root: path.join(ROOT, 'src/demo'),
    logLevel: 'error',
    // No HMR, websocket or file watcher: other edits to the tree (or Vite's dependency
    // optimizer) must not reload the page in the middle of a run.
    server: { host: '127.0.0.1', port: 0, hmr: false, ws: false, watch: null, fs: { allow: [ROOT, ...extraAllowed] } },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('Vite did not report a URL');
  return { server, url };
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined ? '-' : v.toFixed(digits));

function cpuText(c: CaseResult): string {
  if (!c.cpu) return '-';
  return 'perImageMs' in c.cpu ? fmt(c.cpu.perImageMs) : 'skipped';
}

export function caseLine(c: CaseResult, layerWidth = 12): string {
  const head = `${c.method.padEnd(10)}${c.layer.padEnd(layerWidth)}${String(c.batch).padStart(5)}`;
  if (c.skipped) return `${head}  skipped: ${c.skipped}`;
  if (!c.ok || !c.gpu) return `${head}  FAILED: ${c.error ?? 'unknown error'}`;
  return [
    head,
    fmt(c.gpu.perImageMs, 3).padStart(12),
    fmt(c.gpu.imagesPerSecond, 1).padStart(10),
    fmt(c.kernelsPerImageMs, 3).padStart(12),
    cpuText(c).padStart(10),
    (c.speedup === undefined ? '-' : `${c.speedup.toFixed(1)}x`).padStart(8),
    String(c.gpu.runs).padStart(5),
  ].join('');
}

export const tableHeader = (layerWidth = 12) => `${'method'.padEnd(10)}${'layer'.padEnd(layerWidth)}${'batch'.padStart(5)}${'ms/img'.padStart(12)}${'img/s'.padStart(10)}${'kern ms/img'.padStart(12)}${'cpu ms'.padStart(10)}${'cpu/gpu'.padStart(8)}${'runs'.padStart(5)}`;

/** Set by SIGINT/SIGTERM: stop polling and write what is done so far. */
let interrupted = false;

async function poll(page: Page, deadline: number, onCase: (c: CaseResult) => void): Promise<BenchState> {
  let seen = 0;
  let last: BenchState = { status: 'error', userAgent: '', total: 0, done: 0, cases: [] };
  const stop = (why: string): BenchState => ({ ...last, status: 'error', error: `${why} (${last.done} of ${last.total || '?'} cases done; now: ${last.current ?? '?'})` });
  for (;;) {
    let state: BenchState | null;
    try {
      state = (await page.evaluate(() => {
        const s = window.__bench;
        return s ? JSON.parse(JSON.stringify(s)) : null;
      })) as BenchState | null;
    } catch (error) {
      if (interrupted) return stop('interrupted');
      return stop(`lost the page: ${(error as Error).message}`);
    }
    if (state) {
      last = state;
      for (; seen < state.cases.length; seen++) onCase(state.cases[seen]);
      if (state.status === 'done' || state.status === 'error') return state;
    }
    if (interrupted) return stop('interrupted');
    if (Date.now() > deadline) return stop('timed out');
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function runBrowserBench(options: RunnerOptions, log: (line: string) => void = console.log): Promise<BrowserReport> {
  if (!existsSync(options.chrome)) {
    throw new UsageError(`browser not found at ${options.chrome}; install Chromium (apt-get install -y chromium) or pass --chrome PATH`);
  }
  const started = Date.now();
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const modelFile = options.config.model ? options.config.model.url.slice('/@fs'.length) : undefined;
  const { server, url } = await startServer(modelFile ? [path.dirname(modelFile)] : []);
  let browser: Browser | undefined;
  const pageErrors: string[] = [];
  try {
    browser = await puppeteer.launch({
      executablePath: options.chrome,
      headless: !options.headful,
      // A copy: puppeteer edits the array in place (it merges --enable-features flags).
      args: [...options.flags],
      protocolTimeout: 600_000,
      // Ctrl-C: the runner closes the browser itself after writing the partial report.
      handleSIGINT: false,
      handleSIGTERM: false,
    });
    const version = await browser.version();
    const page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      const where = message.location().url ?? '';
      // Not ours: the missing favicon, and Vite's client failing to open the HMR websocket we turned off.
      if (where.endsWith('/favicon.ico') || where.includes('/@vite/client')) return;
      if (message.type() === 'error' || message.type() === 'warn') pageErrors.push(`console.${message.type()}: ${message.text()}${where ? ` (${where})` : ''}`);
    });
    await page.evaluateOnNewDocument((config) => {
      (window as unknown as { __benchConfig: unknown }).__benchConfig = config;
    }, options.config);
    log(`bench: ${version} on ${url}bench.html`);
    const m = options.config;
    log(m.model
      ? `model: ${m.model.name} x ${m.methods.join(',')}; up to ${m.runs} runs, ${(m.budgetMs ?? 0) / 1000} s budget per method`
      : `matrix: ${m.methods.join(',')} x ${m.shapes.join(',')} x batch ${m.batches.join(',')}; up to ${m.runs} runs, ${(m.budgetMs ?? 0) / 1000} s budget per case`);
    await page.goto(`${url}bench.html`, { waitUntil: 'load', timeout: 120_000 });
    let headerShown = false;
    const layerWidth = m.model ? `model ${m.model.name}`.length + 2 : Math.max(12, ...m.shapes.map((x) => x.length + 2));
    const state = await poll(page, started + options.timeoutS * 1000, (c) => {
      if (!headerShown) {
        log(tableHeader(layerWidth));
        headerShown = true;
      }
      log(caseLine(c, layerWidth));
    });
    const report: BrowserReport = {
      kind: 'webgpu-cam browser benchmark',
      date: new Date().toISOString(),
      adapter: state.adapter,
      backend: state.backend,
      timestampQuery: state.timestampQuery,
      userAgent: state.userAgent,
      browser: { executable: options.chrome, version, flags: options.flags },
      host: { platform: `${os.platform()} ${os.release()}`, cpus: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version },
      config: state.config,
      ...(state.model ? { model: state.model } : {}),
      status: state.status,
      ...(state.error ? { error: state.error } : {}),
      durationS: Math.round((Date.now() - started) / 100) / 10,
      pageErrors,
      cases: state.cases,
    };
    return report;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await browser?.close().catch(() => undefined);
    await server.close();
  }
}

export function writeReports(report: BrowserReport, outDir: string): { json: string; latest: string; html: string } {
  mkdirSync(outDir, { recursive: true });
  const stamp = report.date.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  const json = path.join(outDir, `browser-${stamp}.json`);
  const latest = path.join(outDir, 'browser-latest.json');
  const html = path.join(outDir, 'browser-latest.html');
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(json, text);
  writeFileSync(latest, text);
  writeFileSync(html, renderHtmlReport(report));
  return { json, latest, html };
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: RunnerOptions | 'help';
  try {
    options = parseRunnerArgs(argv);
  } catch (error) {
    console.error(`bench:browser: ${(error as Error).message}`);
    return 2;
  }
  if (options === 'help') {
    console.log(HELP);
    return 0;
  }
  let report: BrowserReport;
  try {
    report = await runBrowserBench(options, options.json ? console.error : console.log);
  } catch (error) {
    console.error(`bench:browser: ${error instanceof UsageError ? error.message : (error as Error).stack ?? String(error)}`);
    return error instanceof UsageError ? 2 : 1;
  }
  const files = writeReports(report, options.outDir);
  if (options.json) console.log(JSON.stringify(report));
  const say = options.json ? console.error : console.log;
  say(`adapter: ${report.adapter ?? 'n/a'} (timestamp queries: ${report.timestampQuery ? 'yes' : 'no'}); ${report.durationS} s`);
  if (report.model) {
    const mi = report.model;
    say(`model ${mi.name}: target ${mi.target} [${mi.activationsShape.join(',')}], input [${mi.inputShape.join(',')}], ORT ${mi.ortBackend}` +
      `${mi.sharesDevice === undefined ? '' : mi.sharesDevice ? ' on our device (zero-copy)' : ' (outputs copied)'}; forward ${mi.forwardMs ?? '-'} ms per run`);
  }
  const skipped = report.cases.filter((c) => c.cpu && 'skipped' in c.cpu);
  if (skipped.length > 0) say(`CPU reference skipped in ${skipped.length} cases (see cpu.skipped in the JSON)`);
  const notRun = report.cases.filter((c) => c.skipped).length;
  if (notRun > 0) say(`${notRun} case(s) skipped as too slow (see --max-call)`);
  say(`wrote ${path.relative(process.cwd(), files.json)}, ${path.relative(process.cwd(), files.latest)}, ${path.relative(process.cwd(), files.html)}`);
  if (report.status !== 'done') {
    console.error(`bench:browser: the page stopped with an error: ${report.error ?? 'unknown'}`);
    if (report.pageErrors.length > 0) console.error(report.pageErrors.slice(0, 10).join('\n'));
    return 1;
  }
  const failed = report.cases.filter((c) => !c.ok && !c.skipped);
  if (failed.length > 0) {
    console.error(`bench:browser: ${failed.length} case(s) failed`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
