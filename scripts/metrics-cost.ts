/**
 * Per-metric cost of one explanation on this machine: model runs and milliseconds of each
 * metric for one image and method (the bundled digits model, ORT wasm on one thread).
 *
 *   node --import tsx --import ./scripts/wgsl-raw.mjs scripts/metrics-cost.ts [IMAGE] [--method cfcam] [--backend gpu|cpu]
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { engineForBackend, ExitRequest } from '../src/cli/gpu-environment.js';
import { DEFAULT_MODEL } from '../src/cli/explain.js';
import { ModelExplainer } from '../src/engine/model/explainer.js';
import { readImage } from '../src/engine/model/image-io.js';
import { loadModelMetadata } from '../src/engine/model/metadata.js';
import { evaluateMap, explainerNoisyMaps, metricContext, metricImage, METRICS } from '../src/engine/metrics/index.js';
import type { CamMethod } from '../src/engine/methods/registry.js';

const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

async function main(): Promise<void> {
  const file = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'models/digits/samples/sample-0.png';
  const method = option('method', 'cfcam') as CamMethod;
  ort.env.wasm.numThreads = 1;
  const engine = await engineForBackend(option('backend', 'gpu') as 'gpu' | 'cpu');
  const model = option('model', DEFAULT_MODEL);
  const explainer = await ModelExplainer.create({ model: new Uint8Array(readFileSync(model)), metadata: loadModelMetadata(model), layer: process.argv.includes('--layer') ? option('layer', '') : undefined, engine, ort, numThreads: 1 });
  const image = await readImage(file);
  const t0 = performance.now();
  const e = await explainer.explain(image, { method });
  console.log(`${method} on ${engine.adapterName}: explanation ${(performance.now() - t0).toFixed(0)} ms`);
  const ctx = metricContext(explainer, engine);
  const mi = metricImage(explainer, image, e.classIndex);
  for (const metric of METRICS.filter((m) => m !== 'pointing-game')) {
    const r = await evaluateMap(ctx, mi, e.map, { metrics: [metric], baseProbability: e.top5[0].probability, noisyMaps: explainerNoisyMaps(explainer, image, method, { classIndex: e.classIndex }) });
    console.log(`${metric.padEnd(20)} ${String(r.modelRuns).padStart(4)} model runs  ${r.ms.toFixed(0).padStart(7)} ms`);
  }
  await explainer.dispose();
  engine.dispose();
}

main().catch((error: unknown) => {
  if (error instanceof ExitRequest) process.exit(error.code);
  console.error(error);
  process.exit(1);
});
