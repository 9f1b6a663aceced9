/** `webgpu-cam cam`: one CAM (or a batch of them) from saved activation / gradient tensors. */
import type { ComputeOptions } from '../engine/engine.js';
import { type BilateralParams, type CfcamDetails, type CfcamMode } from '../engine/types.js';
import type { CamMethod } from '../engine/methods/registry.js';
import { CAM_METHODS, GRADIENT_FREE_METHODS, MODEL_SCORED_METHODS } from '../engine/methods/registry.js';
import { choice, flag, numberFlag, optionalString, parseArgs, rejectPositionals, required, UsageError, type ParsedArgs } from './args.js';
import { BACKEND_CHOICES, engineForBackend } from './gpu-environment.js';
import { assertWritablePath, formatShape, loadCamInput, parseSize, writeNpyFile } from './tensors.js';

export const CAM_HELP = `Usage: webgpu-cam cam --method M --activations A.npy [--gradients G.npy] --size S --out cam.npy [options]

Computes class activation maps from a layer's activations and the class-score gradients
(float32 .npy, [C,H,W] for one image or [B,C,H,W] for a batch; both the same shape).
Writes the maps as float32 .npy: [H',W'] for one image, [B,H',W'] for a batch, values in [0,1].

Required:
  --method M              ${CAM_METHODS.filter((m) => !MODEL_SCORED_METHODS.has(m)).join(', ')}
                          (${[...MODEL_SCORED_METHODS].join(' and ')} need the model: use explain)
  --activations FILE      activations .npy
  --gradients FILE        gradients .npy (not needed by eigencam)
  --size S | HxW          output map size, e.g. 224 or 224x160
  --out FILE              where to write the maps (.npy)

Options:
  --backend gpu|cpu|auto  CAM on WebGPU (default), the CPU (its WebAssembly SIMD fast path), or
                          auto: WebGPU where a hardware GPU is present, else the CPU
  --labels FILE           cfcam: write per-channel labels, int32 [C] or [B,C]
                          (-2 important, -1 noise, k >= 0 cluster id)
  --mode reference|bilateral      cfcam filter variant (default reference)
  --bilateral-d N         bilateral window diameter (default 5; <= 0: from sigma-space)
  --bilateral-sigma-color X       (default 0.1)
  --bilateral-sigma-space X       (default 5)
  --json                  print one JSON object (with per-stage GPU times) instead of a summary
  -h, --help              this help

Without a GPU the gpu backend uses Chromium's SwiftShader when it is installed.`;

const SPEC = {
  method: 'string',
  activations: 'string',
  gradients: 'string',
  size: 'string',
  out: 'string',
  labels: 'string',
  mode: 'string',
  backend: 'string',
  'bilateral-d': 'string',
  'bilateral-sigma-color': 'string',
  'bilateral-sigma-space': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

const BILATERAL_FLAGS = { 'bilateral-d': 'd', 'bilateral-sigma-color': 'sigmaColor', 'bilateral-sigma-space': 'sigmaSpace' } as const;

/** CF-CAM options from the flags; options that only CF-CAM uses are refused for other methods. */
function cfcamOptions(args: ParsedArgs, method: CamMethod): ComputeOptions {
  const given = (name: string) => args.values[name] !== undefined;
  if (method !== 'cfcam') {
    for (const name of ['labels', 'mode', ...Object.keys(BILATERAL_FLAGS)]) {
      if (given(name)) throw new UsageError(`--${name} applies to --method cfcam only`);
    }
    return {};
  }
  const mode = choice<CfcamMode>(args, 'mode', ['reference', 'bilateral'], 'reference');
  const bilateral: Partial<BilateralParams> = {};
  for (const [name, key] of Object.entries(BILATERAL_FLAGS)) {
    if (!given(name)) continue;
    if (mode !== 'bilateral') throw new UsageError(`--${name} needs --mode bilateral`);
    bilateral[key] = numberFlag(args, name, { integer: key === 'd' });
  }
  return { mode, bilateral };
}

export function cfcamImageSummaries(details: CfcamDetails, batch: number) {
  return Array.from({ length: batch }, (_, b) => ({
    eps: details.eps[b],
    normThreshold: details.normThreshold[b],
    minSamples: details.minSamples[b],
    clusters: details.clusters[b],
    important: details.important[b],
    noise: details.noise[b],
  }));
}

export const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

export function roundAll(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, roundMs(v)]));
}

export async function runCam(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (flag(args, 'help')) {
    console.log(CAM_HELP);
    return 0;
  }
  rejectPositionals(args, 'cam');
  required(args, 'method');
  const method = choice<CamMethod>(args, 'method', CAM_METHODS, 'cfcam');
  if (MODEL_SCORED_METHODS.has(method)) {
    throw new UsageError(`method ${method} runs the model on masked copies of the image, which cam does not have; use 'webgpu-cam explain --method ${method}'`);
  }
  const needsGradients = !GRADIENT_FREE_METHODS.has(method);
  const activationsPath = required(args, 'activations');
  const gradientsPath = needsGradients ? required(args, 'gradients', ` (method ${method} needs gradients)`) : optionalString(args, 'gradients');
  const size = parseSize(required(args, 'size'));
  const outPath = required(args, 'out');
  const labelsPath = optionalString(args, 'labels');
  const backend = choice(args, 'backend', BACKEND_CHOICES, 'gpu');
  const json = flag(args, 'json');
  const options: ComputeOptions = { ...cfcamOptions(args, method), timing: json ? 'stage' : undefined };

  assertWritablePath(outPath);
  if (labelsPath !== undefined) assertWritablePath(labelsPath);
  const loaded = loadCamInput({ activations: activationsPath, gradients: gradientsPath, size, checkGradients: needsGradients });
  const { shape } = loaded.input;

  // The GPU is acquired only after the inputs are known to be good: bad input fails fast.
  const engine = await engineForBackend(backend);
  try {
    const started = performance.now();
    const result = await engine.compute(method, loaded.input, options);
    const wallMs = performance.now() - started;

    const mapShape = loaded.batched ? [shape.batch, size.height, size.width] : [size.height, size.width];
    writeNpyFile(outPath, result.maps, mapShape);
    const labelShape = loaded.batched ? [shape.batch, shape.channels] : [shape.channels];
    if (labelsPath !== undefined && result.cfcam) writeNpyFile(labelsPath, result.cfcam.labels, labelShape);

    const images = result.cfcam ? cfcamImageSummaries(result.cfcam, shape.batch) : undefined;
    if (json) {
      const report = {
        method,
        // The backend that ran (auto resolves to one of them).
        backend: engine.backend,
        adapter: engine.adapterName,
        ...(method === 'cfcam' ? { mode: options.mode } : {}),
        shape: loaded.fileShape,
        outputShape: mapShape,
        output: outPath,
        labels: labelsPath ?? null,
        ...(images ? { images } : {}),
        stageMs: roundAll(result.stageMs),
        wallMs: roundMs(wallMs),
      };
      console.log(JSON.stringify(report));
    } else {
      printSummary({ method, backend: engine.backend, adapter: engine.adapterName, fileShape: loaded.fileShape, mapShape, outPath, labelsPath, labelShape, images, wallMs });
    }
    return 0;
  } finally {
    engine.dispose();
  }
}

function printSummary(s: {
  method: string;
  backend: string;
  adapter: string;
  fileShape: number[];
  mapShape: number[];
  outPath: string;
  labelsPath?: string;
  labelShape: number[];
  images?: ReturnType<typeof cfcamImageSummaries>;
  wallMs: number;
}): void {
  const where = s.backend === 'gpu' ? `gpu (${s.adapter})` : s.adapter;
  console.log(`${s.method} on ${where}: ${formatShape(s.fileShape)} -> ${s.outPath} ${formatShape(s.mapShape)} in ${s.wallMs.toFixed(1)} ms`);
  if (s.labelsPath !== undefined) console.log(`labels -> ${s.labelsPath} ${formatShape(s.labelShape)}`);
  const shown = 8;
  s.images?.slice(0, shown).forEach((d, b) => {
    const prefix = s.images!.length > 1 ? `  image ${b}: ` : '  ';
    console.log(
      `${prefix}eps ${d.eps.toPrecision(6)}, norm threshold ${d.normThreshold.toPrecision(6)}, min samples ${d.minSamples}, ` +
        `${d.clusters} clusters, ${d.important} important, ${d.noise} noise channels`,
    );
  });
  if (s.images && s.images.length > shown) console.log(`  ... ${s.images.length - shown} more images`);
}
