/**
 * `webgpu-cam evaluate`: faithfulness, robustness and localisation metrics of CAM methods over a
 * folder of images (src/engine/metrics), with a summary table, a JSON report and an HTML report.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CamOptions } from '../engine/types.js';
import { CAM_METHODS, type CamMethod } from '../engine/methods/registry.js';
import { ModelExplainer } from '../engine/model/explainer.js';
import { loadModelMetadata } from '../engine/model/metadata.js';
import { encodePng, readImage } from '../engine/model/image-io.js';
import { overlay } from '../engine/display/overlay.js';
import type { CamEngine } from '../engine/engine.js';
import {
  BASELINES,
  METRICS,
  evaluateMap,
  explainerNoisyMaps,
  metricContext,
  metricImage,
  summarise,
  type Baseline,
  type Box,
  type MapMetrics,
  type MetricContext,
  type MetricName,
  type MetricOptions,
} from '../engine/metrics/index.js';
import { choice, flag, numberFlag, optionalString, parseArgs, rejectPositionals, required, UsageError } from './args.js';
import { DEFAULT_MODEL } from './explain.js';
import { BACKEND_CHOICES, engineForBackend } from './gpu-environment.js';
import { htmlReport, ProgressBar, summaryTable, type HtmlExample, type MethodReport } from './evaluate-report.js';
import { assertWritablePath, readBytes } from './tensors.js';

export const DEFAULT_SOFTCAM_MODEL = fileURLToPath(new URL(/* @vite-ignore */ '../../models/softcam/softcam-digits.onnx', import.meta.url));

/** Method labels: any engine method, plus cfcam-bilateral (CF-CAM in its bilateral mode). */
const EXTRA_LABELS: Record<string, { method: CamMethod; camOptions: CamOptions }> = {
  'cfcam-bilateral': { method: 'cfcam', camOptions: { mode: 'bilateral' } },
};

export const EVALUATE_HELP = `Usage: webgpu-cam evaluate --images DIR [options]

Explains every image of a folder with each method and scores the maps: Average Drop / Increase
(CF-CAM's definitions), Deletion / Insertion AUC (100 steps), ROAD (noisy linear imputation,
MoRF / LeRF), pytorch-grad-cam's confidence change, map stability (SSIM / MSE under noise on
the gradients and on the input) and, with boxes, the pointing game and its energy variant.
Definitions: docs/evaluation.md.

Options:
  --images DIR             PNG / JPEG images (sorted by name)
  --boxes FILE             boxes.json ({"images": {"<file>": {"label": k, "box": [x0,y0,x1,y1]}}});
                           default DIR/boxes.json when present
  --methods LIST           comma-separated: ${[...CAM_METHODS, ...Object.keys(EXTRA_LABELS)].join(', ')}
                           (default cfcam,gradcam)
  --metrics LIST           ${METRICS.join(', ')} (default all; pointing-game needs boxes)
  --model FILE             ONNX model (default: the bundled digits model)
  --layer NAME             target layer (default: the model's feature layer)
  --softcam-model FILE     the Soft-CAM model that softcam explains and is scored on
                           (default models/softcam/softcam-digits.onnx)
  --class predicted|label  the class explained and scored (default predicted; label needs boxes.json labels)
  --skip N                 leave out the first N images (with --limit: shards of a long run)
  --limit N                at most N images (after --skip)
  --steps N                deletion / insertion steps (default 100)
  --deletion-baseline B    ${BASELINES.join(', ')} (default zero, as CF-CAM's auc.py)
  --insertion-baseline B   (default zero)
  --road-percentiles LIST  (default 10,20,...,90)
  --road-noise S           imputation noise (default 0.01)
  --gradient-noise LIST    gradient noise levels, x RMS of the gradients (default 0.1,0.3,1,3)
  --input-noise LIST       input noise levels, normalised units (default 0.05,0.1,0.2,0.3)
  --tolerance PX           pointing game tolerance (default 0)
  --batch N                perturbed inputs per model run (default 16)
  --backend gpu|cpu|auto   maps and perturbed inputs on WebGPU (default) or the CPU (maps: its fast path;
                           perturbations: TypeScript); auto: WebGPU where a hardware GPU is present
  --out FILE               JSON report (per image and summary)
  --html FILE              HTML report (default: --out with .html)
  --examples N             images with overlays in the HTML report (default 3)
  -h, --help               this help`;

const SPEC = {
  images: 'string',
  boxes: 'string',
  methods: 'string',
  metrics: 'string',
  model: 'string',
  layer: 'string',
  'softcam-model': 'string',
  class: 'string',
  limit: 'string',
  skip: 'string',
  steps: 'string',
  'deletion-baseline': 'string',
  'insertion-baseline': 'string',
  'road-percentiles': 'string',
  'road-noise': 'string',
  'gradient-noise': 'string',
  'input-noise': 'string',
  tolerance: 'string',
  batch: 'string',
  backend: 'string',
  out: 'string',
  html: 'string',
  examples: 'string',
  help: 'boolean',
} as const;

interface BoxEntry {
  label?: number;
  box: [number, number, number, number];
}

function numberList(text: string | undefined, name: string): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((s) => Number(s.trim()));
  if (!values.length || values.some((v) => !Number.isFinite(v))) throw new UsageError(`--${name} must be comma-separated numbers, got '${text}'`);
  return values;
}

function listOf<T extends string>(text: string, allowed: readonly T[], name: string): T[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new UsageError(`unknown ${name} '${item}'; choose from ${allowed.join(', ')}`);
  if (!items.length) throw new UsageError(`--${name}s is empty`);
  return items as T[];
}

interface Scored {
  label: string;
  method: CamMethod;
  camOptions: CamOptions;
  explainer: ModelExplainer;
  ctx: MetricContext;
  results: (MapMetrics & { image: string; classIndex: number; explainMs: number })[];
}

export async function runEvaluate(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (flag(args, 'help')) {
    console.log(EVALUATE_HELP);
    return 0;
  }
  rejectPositionals(args, 'evaluate');
  const dir = required(args, 'images');
  if (!existsSync(dir)) throw new UsageError(`--images ${dir} does not exist`);
  const labels = listOf(optionalString(args, 'methods') ?? 'cfcam,gradcam', [...CAM_METHODS, ...Object.keys(EXTRA_LABELS)], 'method');
  const metrics = listOf(optionalString(args, 'metrics') ?? METRICS.join(','), METRICS, 'metric') as MetricName[];
  const backend = choice(args, 'backend', BACKEND_CHOICES, 'gpu');
  const classMode = choice(args, 'class', ['predicted', 'label'] as const, 'predicted');
  const limit = numberFlag(args, 'limit', { integer: true, min: 1 });
  const skip = numberFlag(args, 'skip', { integer: true, min: 0 }) ?? 0;
  const batch = numberFlag(args, 'batch', { integer: true, min: 1 }) ?? 16;
  const examplesWanted = numberFlag(args, 'examples', { integer: true, min: 0 }) ?? 3;
  const options: MetricOptions = {
    deletionInsertion: {
      steps: numberFlag(args, 'steps', { integer: true, min: 1 }),
      deletionBaseline: choice(args, 'deletion-baseline', BASELINES, 'zero') as Baseline,
      insertionBaseline: choice(args, 'insertion-baseline', BASELINES, 'zero') as Baseline,
    },
    road: { percentiles: numberList(optionalString(args, 'road-percentiles'), 'road-percentiles'), noise: numberFlag(args, 'road-noise', { min: 0 }) },
    robustness: { gradientLevels: numberList(optionalString(args, 'gradient-noise'), 'gradient-noise'), inputLevels: numberList(optionalString(args, 'input-noise'), 'input-noise') },
    pointingTolerance: numberFlag(args, 'tolerance', { min: 0 }),
  };
  for (const q of options.road?.percentiles ?? []) if (!(q > 0 && q < 100)) throw new UsageError(`--road-percentiles must lie in (0, 100), got ${q}`);

  const boxesPath = optionalString(args, 'boxes') ?? (existsSync(path.join(dir, 'boxes.json')) ? path.join(dir, 'boxes.json') : undefined);
  let boxes: Record<string, BoxEntry> | undefined;
  if (boxesPath) {
    const raw = JSON.parse(readFileSync(boxesPath, 'utf8')) as { images?: Record<string, BoxEntry> } & Record<string, BoxEntry>;
    boxes = raw.images ?? raw;
  }
  if (metrics.includes('pointing-game') && !boxes && optionalString(args, 'metrics')) throw new UsageError('pointing-game needs boxes: pass --boxes boxes.json (or put boxes.json in the images folder)');
  if (classMode === 'label' && !boxes) throw new UsageError('--class label needs labels: pass --boxes boxes.json');
  let files = readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  files = files.slice(skip, limit ? skip + limit : undefined);
  if (!files.length) throw new UsageError(`no PNG or JPEG images in ${dir}`);
  const outPath = optionalString(args, 'out');
  const htmlPath = optionalString(args, 'html') ?? (outPath ? outPath.replace(/\.json$/i, '') + '.html' : undefined);
  for (const p of [outPath, htmlPath]) if (p) assertWritablePath(p);

  const modelPath = optionalString(args, 'model') ?? DEFAULT_MODEL;
  const engine: CamEngine = await engineForBackend(backend);
  const explainers: ModelExplainer[] = [];
  try {
    const main = await ModelExplainer.create({ model: readBytes(modelPath), layer: optionalString(args, 'layer'), metadata: loadModelMetadata(modelPath), engine, numThreads: 1 });
    explainers.push(main);
    let softcam: ModelExplainer | undefined;
    if (labels.includes('softcam') && !main.evidenceLayer) {
      const softPath = optionalString(args, 'softcam-model') ?? DEFAULT_SOFTCAM_MODEL;
      softcam = await ModelExplainer.create({ model: readBytes(softPath), metadata: loadModelMetadata(softPath), engine, numThreads: 1 });
      explainers.push(softcam);
    }
    const contexts = new Map<ModelExplainer, MetricContext>();
    const contextOf = (e: ModelExplainer) => contexts.get(e) ?? contexts.set(e, metricContext(e, engine, batch)).get(e)!;
    const scored: Scored[] = labels.map((label) => {
      const { method, camOptions } = EXTRA_LABELS[label] ?? { method: label as CamMethod, camOptions: {} };
      const explainer = method === 'softcam' && softcam ? softcam : main;
      return { label, method, camOptions, explainer, ctx: contextOf(explainer), results: [] };
    });

    // Written after every image, so a long run that is stopped still leaves a valid report.
    const writeReports = (imagesDone: number) => {
      const reports: MethodReport[] = scored.map((s) => ({ label: s.label, summary: summarise(s.results) }));
      const command = `webgpu-cam evaluate ${argv.join(' ')}`;
      const notes = [
        `${imagesDone} of ${files.length} images from ${dir}; class: ${classMode}; model ${path.basename(modelPath)} layer ${main.layer}${softcam ? `; softcam on ${path.basename(optionalString(args, 'softcam-model') ?? DEFAULT_SOFTCAM_MODEL)} (scored by that model)` : ''}`,
        `maps and perturbed inputs on ${engine.backend === 'gpu' ? engine.adapterName : `the CPU (${engine.adapterName})`}; the model in ONNX Runtime (wasm, 1 thread)`,
        'AD% CF-CAM Average Drop (signed; AD+% clamped at 0), IC% share of images whose confidence rose, AI CF-CAM Average Increase, Del/Ins AUCs, ROAD MoRF/LeRF means and combined, dConf p(x*map)-p(x), SSIMg/SSIMx mean SSIM under gradient/input noise, MSEx, PG% pointing game, EPG energy share in the box; runs/img model inputs scored per image for the metrics (robustness re-explanations not counted), ms/img metric time per image',
      ];
      if (outPath) {
        const round = (v: number) => Number(v.toPrecision(6));
        const json = {
          command,
          images: imagesDone,
          imagesPlanned: files.length,
          directory: dir,
          model: modelPath,
          layer: main.layer,
          backend: engine.backend,
          adapter: engine.adapterName,
          classMode,
          metrics,
          options,
          summary: Object.fromEntries(reports.map((r) => [r.label, r.summary])),
          perImage: Object.fromEntries(
            scored.map((s) => [
              s.label,
              s.results.map((r) => ({
                ...r,
                deletionInsertion: r.deletionInsertion && {
                  deletion: { auc: r.deletionInsertion.deletion.auc, curve: Array.from(r.deletionInsertion.deletion.curve, round) },
                  insertion: { auc: r.deletionInsertion.insertion.auc, curve: Array.from(r.deletionInsertion.insertion.curve, round) },
                },
              })),
            ]),
          ),
        };
        writeFileSync(outPath, JSON.stringify(json));
      }
      if (htmlPath) {
        writeFileSync(htmlPath, htmlReport({ title: 'webgpu-cam evaluation', command, reports, examples, notes }));
      }
    };
    const examples: HtmlExample[] = [];
    const bar = new ProgressBar(files.length * scored.length);
    let done = 0;
    for (const [index, file] of files.entries()) {
      const image = await readImage(path.join(dir, file));
      const entry = boxes?.[file];
      if (classMode === 'label' && entry?.label === undefined) throw new UsageError(`boxes.json has no label for ${file}`);
      const example: HtmlExample | undefined = index < examplesWanted ? { image: file, classIndex: -1, overlays: [] } : undefined;
      for (const s of scored) {
        bar.update(done, `${file} ${s.label}`);
        const t0 = performance.now();
        const explanation = await s.explainer.explain(image, { method: s.method, classIndex: classMode === 'label' ? entry!.label : undefined, camOptions: s.camOptions });
        const explainMs = performance.now() - t0;
        const classIndex = explanation.classIndex;
        const [height, width] = s.explainer.inputSize;
        // Boxes are in image pixels: scaled to the map (the model's input size).
        const box = entry?.box ? ([(entry.box[0] * width) / image.width, (entry.box[1] * height) / image.height, (entry.box[2] * width) / image.width, (entry.box[3] * height) / image.height] as Box) : undefined;
        const result = await evaluateMap(s.ctx, metricImage(s.explainer, image, classIndex), explanation.map, {
          metrics,
          baseProbability: explanation.top5.find((c) => c.index === classIndex)?.probability,
          box,
          noisyMaps: explainerNoisyMaps(s.explainer, image, s.method, { classIndex, camOptions: s.camOptions }),
          options,
        });
        s.results.push({ ...result, image: file, classIndex, explainMs });
        if (example) {
          example.classIndex = classIndex;
          const png = encodePng(overlay(image, { width, height, data: explanation.map }, { opacity: 0.5 }));
          example.overlays.push({ label: s.label, png: `data:image/png;base64,${Buffer.from(png).toString('base64')}`, deletionAuc: result.deletionInsertion?.deletion.auc, insertionAuc: result.deletionInsertion?.insertion.auc });
        }
        done++;
      }
      if (example) examples.push(example);
      writeReports(index + 1);
    }
    bar.update(done, 'done');
    bar.finish();

    writeReports(files.length);
    console.log(summaryTable(scored.map((s) => ({ label: s.label, summary: summarise(s.results) }))));
    if (outPath) console.log(`report -> ${outPath}`);
    if (htmlPath) console.log(`html -> ${htmlPath}`);
    return 0;
  } finally {
    for (const e of explainers) await e.dispose();
    engine.dispose();
  }
}
