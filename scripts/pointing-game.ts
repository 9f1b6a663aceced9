/**
 * The pointing game on held-out images of the generated digits data: the share of images whose
 * CAM maximum falls inside the digit's box, per method, explaining the ground-truth class (and,
 * separately, the predicted one). Also reports accuracy and per-image times.
 *
 *   /usr/bin/python3 models/digits/make_dataset.py --heldout 200 --out /tmp/digits-heldout
 *   node --import tsx --import ./scripts/wgsl-raw.mjs scripts/pointing-game.ts /tmp/digits-heldout \
 *     [--methods cfcam,gradcam] [--backend gpu|cpu]
 *
 * The data folder holds PNG images and boxes.json: { "images": { "<file>": { "label": k,
 * "box": [x0, y0, x1, y1] } } } (pixels, x1/y1 exclusive), as make_dataset.py writes it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { engineForBackend, ExitRequest } from '../src/cli/gpu-environment.js';
import { ModelExplainer } from '../src/engine/model/explainer.js';
import { readImage } from '../src/engine/model/image-io.js';
import { DEFAULT_MODEL } from '../src/cli/explain.js';
import { loadModelMetadata } from '../src/engine/model/metadata.js';
import type { CamMethod } from '../src/engine/methods/registry.js';
import { CAM_METHODS } from '../src/engine/methods/registry.js';

interface BoxEntry {
  label: number;
  box: [number, number, number, number];
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** Index of the map's maximum (first one on ties) as [x, y] at the image size. */
function argmaxPoint(map: Float32Array, width: number, height: number, imageWidth: number, imageHeight: number): [number, number] {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  const y = Math.floor(best / width);
  const x = best % width;
  // Map pixel centres to image pixels when the model size differs from the image size.
  return [Math.floor(((x + 0.5) * imageWidth) / width), Math.floor(((y + 0.5) * imageHeight) / height)];
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: npx tsx scripts/pointing-game.ts DATA_DIR [--methods cfcam,gradcam] [--backend gpu|cpu] [--model M]');
  const methods = option('methods', 'cfcam,gradcam').split(',') as CamMethod[];
  for (const m of methods) if (!CAM_METHODS.includes(m)) throw new Error(`unknown method ${m}`);
  const backend = option('backend', 'gpu');
  if (backend !== 'gpu' && backend !== 'cpu') throw new Error(`--backend must be gpu or cpu, got ${backend}`);
  const modelPath = option('model', DEFAULT_MODEL);
  // boxes.json: { "<file>": entry } or { "images": { "<file>": entry }, ... }.
  const raw = JSON.parse(readFileSync(path.join(dir, 'boxes.json'), 'utf8')) as { images?: Record<string, BoxEntry> } & Record<string, BoxEntry>;
  const boxes: Record<string, BoxEntry> = raw.images ?? raw;
  const files = Object.keys(boxes).sort();

  ort.env.wasm.numThreads = 1;
  const engine = await engineForBackend(backend);
  const explainer = await ModelExplainer.create({ model: new Uint8Array(readFileSync(modelPath)), metadata: loadModelMetadata(modelPath), engine, ort, numThreads: 1 });
  const results: Record<string, { hitsTrue: number; hitsPredicted: number; camMs: number[]; totalMs: number[] }> = {};
  let correct = 0;
  for (const method of methods) results[method] = { hitsTrue: 0, hitsPredicted: 0, camMs: [], totalMs: [] };

  for (const file of files) {
    const { label, box } = boxes[file];
    const image = await readImage(path.join(dir, file));
    const inside = ([x, y]: [number, number]) => x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
    let predicted = -1;
    for (const method of methods) {
      const truth = await explainer.explain(image, { method, classIndex: label });
      // Every method is deterministic: when the prediction is the true class, its map is the same.
      const own = truth.top5[0].index === label ? truth : await explainer.explain(image, { method });
      predicted = own.classIndex;
      const r = results[method];
      if (inside(argmaxPoint(truth.map, truth.width, truth.height, image.width, image.height))) r.hitsTrue++;
      if (inside(argmaxPoint(own.map, own.width, own.height, image.width, image.height))) r.hitsPredicted++;
      r.camMs.push(truth.timings.camMs);
      r.totalMs.push(truth.timings.preprocessMs + truth.timings.modelMs + truth.timings.camMs);
    }
    if (predicted === label) correct++;
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  console.log(`${files.length} images, accuracy ${((100 * correct) / files.length).toFixed(1)}%, CAM on ${engine.adapterName}`);
  for (const method of methods) {
    const r = results[method];
    console.log(
      `${method.padEnd(10)} pointing game (true class) ${((100 * r.hitsTrue) / files.length).toFixed(1)}%   (predicted class) ${((100 * r.hitsPredicted) / files.length).toFixed(1)}%   CAM median ${median(r.camMs).toFixed(1)} ms, per image (model + CAM) ${median(r.totalMs).toFixed(1)} ms`,
    );
  }
  await explainer.dispose();
  engine.dispose();
}

main().catch((error: unknown) => {
  // Re-run under SwiftShader (no GPU here): the child did the work.
  if (error instanceof ExitRequest) process.exit(error.code);
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
