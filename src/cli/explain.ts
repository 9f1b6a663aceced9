/** `webgpu-cam explain`: image in, explanation out, through an ONNX model and any CAM method. */
import { fileURLToPath } from 'node:url';
import { CAM_METHODS, type CamMethod } from '../engine/types.js';
import { listCandidateLayers } from '../engine/model/candidates.js';
import { ModelExplainer } from '../engine/model/explainer.js';
import { loadModelMetadata } from '../engine/model/metadata.js';
import { readImage, writePng } from '../engine/model/image-io.js';
import { overlay } from '../engine/overlay.js';
import { choice, flag, numberFlag, optionalString, parseArgs, rejectPositionals, required, UsageError } from './args.js';
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
  --out FILE              write a JET overlay PNG at the image's size
  --heatmap FILE          write the map as float32 .npy [H,W] at the model's input size
  --opacity X             heatmap weight in the overlay (default 0.4)
  --backend gpu|cpu       CAM on WebGPU (default) or the CPU reference
  --list-layers           print the candidate layers, deepest first, and exit
  --json                  print one JSON object instead of a summary
  -h, --help              this help

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
  backend: 'string',
  'list-layers': 'boolean',
  json: 'boolean',
  help: 'boolean',
} as const;

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
  const opacity = numberFlag(args, 'opacity', { min: 0 }) ?? 0.4;
  if (opacity > 1) throw new UsageError(`--opacity must be in [0, 1], got ${opacity}`);
  const outPath = optionalString(args, 'out');
  const heatmapPath = optionalString(args, 'heatmap');
  for (const p of [outPath, heatmapPath]) if (p) assertWritablePath(p);

  // Bad images and models are reported before any GPU is started.
  const image = await readImage(imagePath);
  const engine = await engineForBackend(backend);
  const explainer = await ModelExplainer.create({
    model: modelBytes,
    layer: optionalString(args, 'layer'),
    metadata: loadModelMetadata(modelPath),
    engine,
    numThreads: 1,
  });
  try {
    const result = await explainer.explain(image, { method, classIndex });
    if (heatmapPath) writeNpyFile(heatmapPath, result.map, [result.height, result.width]);
    if (outPath) await writePng(outPath, overlay(image, { width: result.width, height: result.height, data: result.map }, { opacity }));
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
      console.log(`time: pre-processing ${t.preprocessMs.toFixed(1)} ms, model ${t.modelMs.toFixed(1)} ms, CAM ${t.camMs.toFixed(1)} ms`);
      if (outPath) console.log(`overlay -> ${outPath}`);
      if (heatmapPath) console.log(`heatmap -> ${heatmapPath} [${result.height},${result.width}]`);
    }
    return 0;
  } finally {
    await explainer.dispose();
    engine.dispose();
  }
}
