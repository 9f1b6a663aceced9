/** `webgpu-cam explain`: image in, explanation out, through an ONNX model and any CAM method. */
import { fileURLToPath } from 'node:url';
import { type CamOptions, type CluscamDetails, type CluscamOptions } from '../engine/types.js';
import type { CamMethod } from '../engine/methods/registry.js';
import { CAM_METHODS, GRADIENT_FREE_METHODS, MODEL_SCORED_METHODS } from '../engine/methods/registry.js';
import { requireCandidateLayers } from '../engine/model/candidates.js';
import { RESHAPE_TRANSFORMS, type ReshapeTransformOption } from '../engine/model/reshape-transform.js';
import { inputNeedsSize, type InputLayout, type PreparedInput } from '../engine/model/prepare.js';
import { parseInputSize } from '../engine/model/metadata-parse.js';
import { ModelExplainer } from '../engine/model/explainer.js';
import { loadModelMetadata } from '../engine/model/metadata.js';
import { readImage, writePng } from '../engine/model/image-io.js';
import { COLORMAPS, type Colormap } from '../engine/display/colormaps.js';
import { droppedClusters } from '../engine/methods/cluscam/cpu.js';
import { CLUSCAM_DEFAULTS } from '../engine/methods/cluscam/options.js';
import { overlayPicture } from './overlay-picture.js';
import { runFolderJob } from './jobs/folder-job.js';
import { mergeShards } from './jobs/merge.js';
import { resolveShard } from './jobs/shard.js';
import { choice, flag, numberFlag, optionalString, parseArgs, rejectPositionals, required, UsageError, type ParsedArgs } from './args.js';
import { BACKEND_CHOICES, engineForBackend } from './gpu-environment.js';
import { assertWritablePath, readBytes, writeNpyFile } from './tensors.js';

/**
 * The bundled default model, relative to this module (src/cli or dist/cli). `@vite-ignore`: the
 * package build must leave this a file next to the package, not inline it as a data URL.
 */
export const DEFAULT_MODEL = fileURLToPath(new URL(/* @vite-ignore */ '../../models/digits/digits-resnet.onnx', import.meta.url));

/** The size the layer listing assumes for a model with dynamic height/width and no size given. */
export const DEFAULT_LISTING_SIZE: [number, number] = [224, 224];

export const EXPLAIN_HELP = `Usage: webgpu-cam explain --image IMAGE [options]
       webgpu-cam explain --images DIR|GLOB|LIST.txt --out-dir OUT [options]

Runs an ONNX image classifier on a PNG or JPEG image and explains its prediction: the target
layer's activations and the class-logit gradients come from one run of the model (rewritten
to return them), then a CAM method turns them into a map.

Options:
  --image FILE            PNG or JPEG image (required unless --list-layers)
  --model FILE            ONNX model (default: the bundled digits model)
  --layer NAME            target layer (a node output; default: the model's feature layer,
                          else the deepest 4-D feature; see --list-layers)
  --reshape T             transformer layers: auto (default: from the shape), none, tokens,
                          tokens:N (drop N leading tokens), channels-last; tokens [B,1+h*w,D]
                          become [B,D,h,w] without the class token, [B,H,W,D] become [B,D,H,W]
  --method M              ${CAM_METHODS.join(', ')} (default cfcam)
  --class K               class to explain (default: the top-1 prediction)
  --score-batch N         scorecam, cluscam: masked inputs per model run (default 16)
  --clusters K            cluscam: number of clusters, 1..channels (default 10)
  --drop-ratio R          cluscam: share of the clusters with the lowest logit change that
                          is dropped, in [0, 1) (default 0.5)
  --temperature T         cluscam: softmax temperature, > 0 (default 0.5)
  --seed S                cluscam: K-Means++ seed, an integer (default 0)
  --inits N               cluscam: K-Means++ initialisations, the lowest inertia kept (default 3)
  --out FILE              write an overlay PNG at the image's size (JET exactly as the reference)
  --colormap NAME         overlay colours: jet, turbo, viridis, inferno, diverging (default jet)
  --signed                softcam: the signed evidence (overlay in the diverging map unless
                          --colormap says otherwise; --heatmap writes the signed map)
  --heatmap FILE          write the map as float32 .npy [H,W] at the model's input size
  --opacity X             heatmap weight in the overlay (default 0.4)
  --backend gpu|cpu|auto  CAM on WebGPU (default), the CPU (its WebAssembly SIMD fast path), or
                          auto: WebGPU where a hardware GPU is present, else the CPU
  --input-size HxW        input height/width for a model whose H/W are dynamic (default:
                          model.json's input_size, else the image's own size; --list-layers
                          without either assumes 224x224)
  --layout nchw|nhwc      the model's image layout (default: detected; NHWC inputs such as
                          tf2onnx/Keras exports are fed transposed)
  --output NAME           the graph output with the class scores (default: model.json's
                          output, else the first 2-D float output)
  --explain logits|probability
                          gradient methods: explain the pre-activation logits (default) or
                          the probability of a Softmax/LogSoftmax/Sigmoid head (without a
                          head, softmax of the logits)
  --list-layers           print the candidate layers, deepest first, and exit
  --json                  print one JSON object instead of a summary
  -h, --help              this help

Folder jobs (many images; safe to kill and rerun, see README "Folder jobs"):
  --images SPEC           a folder (its .png/.jpg, subfolders too), a quoted glob
                          ('tiles/**/*.png') or a list file (.txt: one path a line)
  --out-dir OUT           maps/NAME.npy, overlays/NAME.png and manifest.jsonl (one JSON line
                          per image: file, class, top-5, score, timings, status or error)
  --batch N               images per model run (default 1)
  --no-maps, --no-overlays  skip that output
  --shard i/n             explain shard i of n (0-based) of the sorted inputs; default from
                          SLURM_ARRAY_TASK_ID/_COUNT/_MIN or JOB_COMPLETION_INDEX (Kubernetes)
  --shard-count N         the shard count with JOB_COMPLETION_INDEX (or WEBGPU_CAM_SHARD_COUNT)
  --merge                 after this shard, merge all shards' manifests if they are finished
  --retry-errors          redo the images a previous run recorded as failed
  --progress              draw the progress bar even when stderr is not a terminal
                          (--no-progress: never)

Score-CAM and ClusCAM need no gradients but run the model again on masked copies of the
image: once per channel of the layer (scorecam) or once per cluster (cluscam), in batches.

Model metadata (normalisation mean/std, class names, feature layer, input_size, input_layout,
output) is read from a JSON file next to the model: MODEL.json, or model.json in the model's
folder. The summary (and --json) says which input size, layout, output and score were used.`;

const SPEC = {
  image: 'string',
  model: 'string',
  layer: 'string',
  reshape: 'string',
  method: 'string',
  class: 'string',
  out: 'string',
  heatmap: 'string',
  opacity: 'string',
  colormap: 'string',
  signed: 'boolean',
  backend: 'string',
  'score-batch': 'string',
  clusters: 'string',
  'drop-ratio': 'string',
  temperature: 'string',
  seed: 'string',
  inits: 'string',
  'input-size': 'string',
  layout: 'string',
  output: 'string',
  explain: 'string',
  'list-layers': 'boolean',
  images: 'string',
  'out-dir': 'string',
  batch: 'string',
  maps: 'boolean',
  overlays: 'boolean',
  shard: 'string',
  'shard-count': 'string',
  merge: 'boolean',
  'retry-errors': 'boolean',
  progress: 'boolean',
  json: 'boolean',
  help: 'boolean',
} as const;

/** Where the input size came from, when the model's height/width are dynamic. */
interface SizeChoice {
  size: [number, number];
  source: 'flag' | 'metadata' | 'image' | 'assumed';
}

const SIZE_SOURCES: Record<SizeChoice['source'] | 'model', string> = {
  flag: 'from --input-size',
  metadata: "from model.json's input_size",
  image: "the image's own size",
  assumed: 'assumed; set it with --input-size HxW',
  model: 'fixed by the model',
};

/** The input report of --json: the resolved NCHW shape and where each choice came from. */
function inputReport(input: PreparedInput, choice: SizeChoice | undefined) {
  const dynamicSize = input.dynamic.includes('height') || input.dynamic.includes('width');
  return {
    name: input.name,
    shape: input.shape,
    declared: input.declared,
    dynamic: input.dynamic,
    sizeSource: (dynamicSize && choice ? choice.source : 'model') as SizeChoice['source'] | 'model',
    layout: input.layout,
    layoutSource: input.layoutSource,
    opset: input.opset,
  };
}

/** One line: input shape and sources, output, head and what is explained. */
function describeInput(r: ReturnType<typeof inputReport>, head: { output: string; activation: string | null; explained: string }): string {
  const headText = head.activation ? `ends in ${head.activation}: explaining the ${head.explained === 'logits' ? 'pre-activation logits' : 'probability'}` : `explaining its ${head.explained === 'logits' ? 'values (logits)' : 'softmax probability'}`;
  const dims = r.dynamic.length ? `; dynamic ${r.dynamic.join('/')} of [${r.declared.join(',')}]` : '';
  return `input ${r.name} [${r.shape.join(',')}] ${r.layout.toUpperCase()} (${r.layoutSource}), size ${SIZE_SOURCES[r.sizeSource]}${dims}; opset ${r.opset.exported}; output ${head.output} ${headText}`;
}

const CLUSCAM_FLAGS = ['clusters', 'drop-ratio', 'temperature', 'seed', 'inits'] as const;
const FOLDER_FLAGS = ['out-dir', 'batch', 'maps', 'overlays', 'shard', 'shard-count', 'merge', 'retry-errors', 'progress'] as const;

/** --reshape: one of RESHAPE_TRANSFORMS or tokens:N (checked against the layer when the model is rewritten). */
function reshapeFlag(args: ParsedArgs): ReshapeTransformOption | undefined {
  const value = optionalString(args, 'reshape');
  if (value === undefined) return undefined;
  if ((RESHAPE_TRANSFORMS as readonly string[]).includes(value) || /^tokens:\d+$/.test(value)) return value as ReshapeTransformOption;
  throw new UsageError(`--reshape must be one of ${RESHAPE_TRANSFORMS.join(', ')} or tokens:N, got '${value}'`);
}

/** Score-CAM / ClusCAM options from the flags; they are refused for methods that do not use them. */
export function scoredCamOptions(args: ParsedArgs, method: CamMethod): CamOptions {
  const given = (name: string) => args.values[name] !== undefined;
  if (given('score-batch') && !MODEL_SCORED_METHODS.has(method)) throw new UsageError('--score-batch applies to --method scorecam or cluscam only');
  for (const name of CLUSCAM_FLAGS) if (given(name) && method !== 'cluscam') throw new UsageError(`--${name} applies to --method cluscam only`);
  const options: CamOptions = {};
  const scoreBatchSize = numberFlag(args, 'score-batch', { integer: true, min: 1 });
  if (scoreBatchSize !== undefined) options.scoreBatchSize = scoreBatchSize;
  if (method !== 'cluscam') return options;
  const cluscam: CluscamOptions = {};
  const clusters = numberFlag(args, 'clusters', { integer: true, min: 1 });
  if (clusters !== undefined) cluscam.clusters = clusters;
  const dropRatio = numberFlag(args, 'drop-ratio', { min: 0 });
  if (dropRatio !== undefined) {
    if (dropRatio >= 1) throw new UsageError(`--drop-ratio must be in [0, 1), got ${dropRatio}`);
    cluscam.dropRatio = dropRatio;
  }
  const temperature = numberFlag(args, 'temperature');
  if (temperature !== undefined) {
    if (!(temperature > 0)) throw new UsageError(`--temperature must be > 0, got ${temperature}`);
    cluscam.temperature = temperature;
  }
  const seed = numberFlag(args, 'seed', { integer: true });
  if (seed !== undefined) {
    if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a safe integer, got ${seed}`);
    cluscam.seed = seed;
  }
  const inits = numberFlag(args, 'inits', { integer: true, min: 1 });
  if (inits !== undefined) cluscam.inits = inits;
  options.cluscam = cluscam;
  return options;
}

/** ClusCAM's details for the JSON report: per cluster its seed channel, size, delta and weight. */
export function cluscamSummary(details: CluscamDetails) {
  const K = details.seedChannels.length;
  const sizes = new Array<number>(K).fill(0);
  for (const a of details.assignments) sizes[a]++;
  return {
    clusters: K,
    iterations: details.iterations[0],
    inertia: details.inertia[0],
    seedChannels: Array.from(details.seedChannels),
    sizes,
    deltas: Array.from(details.deltas),
    alphas: Array.from(details.alphas),
    assignments: Array.from(details.assignments),
  };
}

export async function runExplain(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (flag(args, 'help')) {
    console.log(EXPLAIN_HELP);
    return 0;
  }
  rejectPositionals(args, 'explain');
  const modelPath = optionalString(args, 'model') ?? DEFAULT_MODEL;
  const modelBytes = readBytes(modelPath);

  const metadata = loadModelMetadata(modelPath);
  const layout = (optionalString(args, 'layout') === undefined ? metadata.inputLayout : choice(args, 'layout', ['nchw', 'nhwc'] as const, 'nchw')) as InputLayout | undefined;
  const output = optionalString(args, 'output') ?? metadata.output;
  const sizeFlag = optionalString(args, 'input-size');
  const givenSize: SizeChoice | undefined = sizeFlag
    ? { size: parseInputSize(sizeFlag, '--input-size')!, source: 'flag' }
    : metadata.inputSize
      ? { size: metadata.inputSize, source: 'metadata' }
      : undefined;
  const needsSize = inputNeedsSize(modelBytes, layout);

  if (flag(args, 'list-layers')) {
    const listing: SizeChoice | undefined = givenSize ?? (needsSize ? { size: DEFAULT_LISTING_SIZE, source: 'assumed' } : undefined);
    const note = listing && needsSize ? `input height/width are dynamic: shapes at ${listing.size.join('x')} (${SIZE_SOURCES[listing.source]})` : undefined;
    // Never an empty list with exit 0: no candidate is a typed error that says why.
    const layers = requireCandidateLayers(modelBytes, { output, inputSize: listing?.size, inputLayout: layout });
    if (flag(args, 'json')) {
      if (note) console.error(`webgpu-cam: ${note}`);
      console.log(JSON.stringify(layers));
    } else {
      if (note) console.log(`# ${note}`);
      for (const l of layers) console.log(`${l.name}  ${l.op}  [${l.shape.join(',')}]${l.grid ? `  ${l.layout} -> [${l.grid.join(',')}]` : ''}`);
    }
    return 0;
  }

  if (optionalString(args, 'images') !== undefined) return runFolder(args, modelPath, modelBytes);
  for (const name of FOLDER_FLAGS) {
    if (args.values[name] !== undefined) throw new UsageError(`--${name} is for folder jobs (--images DIR --out-dir OUT)`);
  }
  const imagePath = required(args, 'image');
  const { method, backend, classIndex, camOptions, opacity, signed, colormap } = explainChoices(args);
  const outPath = optionalString(args, 'out');
  const heatmapPath = optionalString(args, 'heatmap');
  for (const p of [outPath, heatmapPath]) if (p) assertWritablePath(p);

  const explain = choice(args, 'explain', ['logits', 'probability'] as const, 'logits');
  if (explain === 'probability' && GRADIENT_FREE_METHODS.has(method)) {
    throw new UsageError(`--explain probability applies to gradient methods; ${method} uses no gradients`);
  }

  // Bad images and models are reported before any GPU is started.
  const image = await readImage(imagePath);
  // Dynamic H/W: the flag, model.json, else the image's own size (so nothing is resampled).
  const sizeChoice: SizeChoice | undefined = needsSize ? (givenSize ?? { size: [image.height, image.width], source: 'image' }) : givenSize;
  const engine = await engineForBackend(backend);
  let explainer: ModelExplainer;
  try {
    explainer = await ModelExplainer.create({
      model: modelBytes,
      layer: optionalString(args, 'layer'),
      reshapeTransform: reshapeFlag(args),
      metadata,
      engine,
      numThreads: 1,
      inputSize: sizeChoice?.size,
      inputLayout: layout,
      output,
      explain,
    });
  } catch (error) {
    engine.dispose();
    throw error;
  }
  try {
    const result = await explainer.explain(image, { method, classIndex, camOptions });
    const values = signed ? result.signedMap! : result.map;
    if (heatmapPath) writeNpyFile(heatmapPath, values, [result.height, result.width]);
    if (outPath) {
      const map = { width: result.width, height: result.height, data: values };
      await writePng(outPath, overlayPicture(image, map, { colormap, opacity, signed }));
    }
    if (flag(args, 'json')) {
      console.log(
        JSON.stringify({
          model: modelPath,
          image: imagePath,
          layer: explainer.layer,
          reshape: explainer.gradientModel.reshape.kind === 'none' ? null : { ...explainer.gradientModel.reshape },
          input: inputReport(explainer.input, sizeChoice),
          output: explainer.head.output,
          head: explainer.head.activation,
          explained: explainer.head.explained,
          method,
          backend: engine.backend,
          adapter: engine.adapterName,
          classIndex: result.classIndex,
          className: result.className,
          top5: result.top5,
          timings: result.timings,
          stageMs: result.stageMs,
          ...(result.cluscam ? { cluscam: cluscamSummary(result.cluscam) } : {}),
          overlay: outPath ?? null,
          heatmap: heatmapPath ?? null,
        }),
      );
    } else {
      const r = explainer.gradientModel.reshape;
      const grid = r.kind === 'none' ? '' : ` (${r.kind}${r.prefixTokens ? `, ${r.prefixTokens} leading token(s) dropped` : ''}: [${r.from.join(',')}] -> [${r.to.join(',')}])`;
      console.log(`${method} on ${engine.backend === 'gpu' ? engine.adapterName : `the CPU (${engine.adapterName})`}, layer ${explainer.layer}${grid}`);
      console.log(describeInput(inputReport(explainer.input, sizeChoice), explainer.head));
      console.log('top-5:');
      for (const s of result.top5) {
        console.log(`  ${String(s.index).padStart(4)}  ${(s.name ?? '').padEnd(12)} logit ${s.logit.toFixed(3).padStart(8)}  p ${s.probability.toFixed(4)}`);
      }
      const t = result.timings;
      console.log(`explained class ${result.classIndex}${result.className ? ` (${result.className})` : ''}`);
      const scored = t.scoreMs !== undefined ? ` (of which the model on masked inputs ${t.scoreMs.toFixed(1)} ms)` : '';
      console.log(`time: pre-processing ${t.preprocessMs.toFixed(1)} ms, model ${t.modelMs.toFixed(1)} ms, CAM ${t.camMs.toFixed(1)} ms${scored}`);
      if (result.cluscam) {
        const c = cluscamSummary(result.cluscam);
        // By the drop rule, not by alpha > 0: a kept cluster's weight can underflow to 0.
        const dropped = droppedClusters(c.deltas, camOptions.cluscam?.dropRatio ?? CLUSCAM_DEFAULTS.dropRatio);
        const kept = c.alphas.map((a, k) => ({ a, k })).filter(({ k }) => !dropped[k]);
        console.log(`clusters: ${c.clusters} (${c.iterations} K-Means iterations, inertia ${c.inertia.toPrecision(6)}), kept ${kept.length}:`);
        for (const { a, k } of kept) console.log(`  cluster ${k}: ${c.sizes[k]} channels, logit change ${c.deltas[k].toFixed(3)}, weight ${a.toFixed(4)}`);
      }
      if (outPath) console.log(`overlay -> ${outPath}`);
      if (heatmapPath) console.log(`heatmap -> ${heatmapPath} [${result.height},${result.width}]`);
    }
    return 0;
  } finally {
    await explainer.dispose();
    engine.dispose();
  }
}

/** The method and display flags shared by one-image and folder runs. */
function explainChoices(args: ParsedArgs) {
  const method = choice(args, 'method', CAM_METHODS, 'cfcam') as CamMethod;
  const backend = choice(args, 'backend', BACKEND_CHOICES, 'gpu');
  const classIndex = numberFlag(args, 'class', { integer: true, min: 0 });
  const camOptions = scoredCamOptions(args, method);
  const opacity = numberFlag(args, 'opacity', { min: 0 }) ?? 0.4;
  if (opacity > 1) throw new UsageError(`--opacity must be in [0, 1], got ${opacity}`);
  const signed = flag(args, 'signed');
  if (signed && method !== 'softcam') throw new UsageError(`--signed is for softcam (the signed class evidence), not ${method}`);
  const colormap = choice(args, 'colormap', COLORMAPS, signed ? 'diverging' : 'jet') as Colormap;
  return { method, backend, classIndex, camOptions, opacity, signed, colormap };
}

/** `explain --images ... --out-dir OUT`: a folder job (src/cli/jobs/folder-job.ts). */
async function runFolder(args: ParsedArgs, modelPath: string, modelBytes: Uint8Array): Promise<number> {
  for (const name of ['image', 'out', 'heatmap'] as const) {
    if (args.values[name] !== undefined) throw new UsageError(`--${name} is for one image; a folder job (--images) writes into --out-dir`);
  }
  const outDir = required(args, 'out-dir', ' (where a folder job writes its maps, overlays and manifest)');
  const shard = resolveShard({ shard: optionalString(args, 'shard'), shardCount: numberFlag(args, 'shard-count', { integer: true, min: 1 }) });
  const summary = await runFolderJob({
    images: required(args, 'images'),
    outDir,
    batch: numberFlag(args, 'batch', { integer: true, min: 1 }) ?? 1,
    shard,
    modelPath,
    modelBytes,
    layer: optionalString(args, 'layer'),
    ...explainChoices(args),
    writeMaps: flag(args, 'maps', true),
    writeOverlays: flag(args, 'overlays', true),
    retryErrors: flag(args, 'retry-errors'),
    progress: typeof args.values.progress === 'boolean' ? args.values.progress : undefined,
  });
  const merge = flag(args, 'merge') && shard.count > 1 ? mergeShards(outDir, { waitForShards: true }) : undefined;
  if (flag(args, 'json')) {
    console.log(JSON.stringify({ ...summary, ...(merge ? { merge } : {}) }));
    return 0;
  }
  const s = summary;
  const shardText = s.shard.count > 1 ? `shard ${s.shard.index}/${s.shard.count}${s.shard.source === 'flag' ? '' : ` (from ${s.shard.source === 'slurm' ? 'Slurm' : 'Kubernetes'})`}: ` : '';
  const ran = s.done + s.errors;
  const rate = ran > 0 ? `, ${s.imagesPerSecond.toFixed(1)} images/s` : '';
  const skipped = s.alreadyDone > 0 ? `, ${s.alreadyDone} already done` : '';
  const batchText = ran > 0 ? `, batch ${s.batch}${s.backend ? ` on ${s.backend}` : ''}` : '';
  console.log(`${shardText}${s.inputs} images: ${s.done} explained, ${s.errors} failed${skipped} in ${s.seconds.toFixed(1)} s${rate}${batchText}; manifest ${s.manifest}`);
  if (s.batchFallbackReason) console.log(`note: one image per model run, not ${args.values.batch}: ${s.batchFallbackReason}`);
  if (merge) {
    console.log(
      merge.complete
        ? `merged ${merge.shards} shards: ${merge.images} images (${merge.errors} failed) -> ${merge.manifest}`
        : `merge: shard${merge.pending.length === 1 ? '' : 's'} ${merge.pending.join(', ')} not finished yet; the last shard to finish merges (or run webgpu-cam merge --out-dir ${outDir})`,
    );
  }
  return 0;
}
