/** `webgpu-cam explain`: image in, explanation out, through an ONNX model and any CAM method. */
import { fileURLToPath } from 'node:url';
import { type CamOptions, type CluscamDetails, type CluscamOptions } from '../engine/types.js';
import type { CamMethod } from '../engine/methods/registry.js';
import { CAM_METHODS, MODEL_SCORED_METHODS } from '../engine/methods/registry.js';
import { listCandidateLayers } from '../engine/model/candidates.js';
import { ModelExplainer } from '../engine/model/explainer.js';
import { loadModelMetadata } from '../engine/model/metadata.js';
import { readImage, writePng } from '../engine/model/image-io.js';
import { overlay } from '../engine/display/overlay.js';
import { COLORMAPS, colormapOverlay, type Colormap } from '../engine/display/colormaps.js';
import { droppedClusters } from '../engine/methods/cluscam/cpu.js';
import { CLUSCAM_DEFAULTS } from '../engine/methods/cluscam/options.js';
import { choice, flag, numberFlag, optionalString, parseArgs, rejectPositionals, required, UsageError, type ParsedArgs } from './args.js';
import { engineForBackend } from './gpu-environment.js';
import { assertWritablePath, readBytes, writeNpyFile } from './tensors.js';

/** The bundled default model, relative to this module (src/cli or dist/node). */
export const DEFAULT_MODEL = fileURLToPath(new URL('../../models/digits/digits-resnet.onnx', import.meta.url));

export const EXPLAIN_HELP = `Usage: webgpu-cam explain --image IMAGE [options]

Runs an ONNX image classifier on a PNG or JPEG image and explains its prediction: the target
layer's activations and the class-logit gradients come from one run of the model (rewritten
to return them), then a CAM method turns them into a map.

Options:
  --image FILE            PNG or JPEG image (required unless --list-layers)
  --model FILE            ONNX model (default: the bundled digits model)
  --layer NAME            target layer (a node output; default: the model's feature layer,
                          else the deepest 4-D feature; see --list-layers)
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
  --backend gpu|cpu       CAM on WebGPU (default) or the CPU reference
  --list-layers           print the candidate layers, deepest first, and exit
  --json                  print one JSON object instead of a summary
  -h, --help              this help

Score-CAM and ClusCAM need no gradients but run the model again on masked copies of the
image: once per channel of the layer (scorecam) or once per cluster (cluscam), in batches.

Model metadata (normalisation mean/std, class names, feature layer) is read from a JSON file
next to the model: MODEL.json, or model.json in the model's folder.`;

const SPEC = {
  image: 'string',
  model: 'string',
  layer: 'string',
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
  'list-layers': 'boolean',
  json: 'boolean',
  help: 'boolean',
} as const;

const CLUSCAM_FLAGS = ['clusters', 'drop-ratio', 'temperature', 'seed', 'inits'] as const;

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

  if (flag(args, 'list-layers')) {
    const layers = listCandidateLayers(modelBytes);
    if (flag(args, 'json')) console.log(JSON.stringify(layers));
    else for (const l of layers) console.log(`${l.name}  ${l.op}  [${l.shape.join(',')}]`);
    return 0;
  }

  const imagePath = required(args, 'image');
  const method = choice(args, 'method', CAM_METHODS, 'cfcam') as CamMethod;
  const backend = choice(args, 'backend', ['gpu', 'cpu'] as const, 'gpu');
  const classIndex = numberFlag(args, 'class', { integer: true, min: 0 });
  const camOptions = scoredCamOptions(args, method);
  const opacity = numberFlag(args, 'opacity', { min: 0 }) ?? 0.4;
  if (opacity > 1) throw new UsageError(`--opacity must be in [0, 1], got ${opacity}`);
  const signed = flag(args, 'signed');
  if (signed && method !== 'softcam') throw new UsageError(`--signed is for softcam (the signed class evidence), not ${method}`);
  const colormap = choice(args, 'colormap', COLORMAPS, signed ? 'diverging' : 'jet') as Colormap;
  const outPath = optionalString(args, 'out');
  const heatmapPath = optionalString(args, 'heatmap');
  for (const p of [outPath, heatmapPath]) if (p) assertWritablePath(p);

  // Bad images and models are reported before any GPU is started.
  const image = await readImage(imagePath);
  const engine = await engineForBackend(backend);
  let explainer: ModelExplainer;
  try {
    explainer = await ModelExplainer.create({
      model: modelBytes,
      layer: optionalString(args, 'layer'),
      metadata: loadModelMetadata(modelPath),
      engine,
      numThreads: 1,
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
      // JET on the [0,1] map is the reference's exact blend; the other maps composite colorize's layer.
      const picture = colormap === 'jet' && !signed ? overlay(image, map, { opacity }) : colormapOverlay(image, map, { colormap, opacity, signed });
      await writePng(outPath, picture);
    }
    if (flag(args, 'json')) {
      console.log(
        JSON.stringify({
          model: modelPath,
          image: imagePath,
          layer: explainer.layer,
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
      console.log(`${method} on ${engine.backend === 'gpu' ? engine.adapterName : 'the CPU reference'}, layer ${explainer.layer}`);
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
