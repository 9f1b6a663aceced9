/**
 * Score-CAM and ClusCAM parity with an independent NumPy / scikit-learn implementation
 * (models/parity/make_fixtures.py, fixtures in test/fixtures/parity): the bundled digits model,
 * image -> map through ModelExplainer (ONNX Runtime wasm EP for the model runs, the masked ones
 * included), on the GPU engine and on the CPU reference engine.
 *
 * ClusCAM's K-Means++ seeding differs from scikit-learn's by design (the engine's own
 * deterministic seeding), so the cases pass scikit-learn's seed channels as `seedChannels`: from
 * there the Lloyd iterations, the masked scores and the map are deterministic.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { createCamEngine, type CamEngine } from '../src/engine/engine';
import { ModelExplainer, type Explanation } from '../src/engine/model/explainer';
import { readModelMetadata } from '../src/engine/model/metadata';
import { decodeImage } from '../src/engine/model/image-io';
import { buildGradientModel } from '../src/engine/model/gradient-graph';
import { preprocessCpu } from '../src/engine/model/preprocess-cpu';
import { parseNpy } from '../src/engine/io/npy';
import type { CamOptions, CamResult, CluscamDetails, MaskedScorer } from '../src/engine/types';
import { testEngine } from './helpers/gpu';
import { maxAbsDiff } from './helpers/golden';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.join(ROOT, 'test/fixtures/parity');
const MODEL = path.join(ROOT, 'models/digits/digits-resnet.onnx');
const MODEL_JSON = path.join(ROOT, 'models/digits/model.json');

/** Map tolerances of the brief: Score-CAM 1e-4, ClusCAM 1e-3 (deltas and alphas 1e-3 too). */
const SCORECAM_TOL = 1e-4;
const CLUSCAM_TOL = 1e-3;
const DELTA_TOL = 1e-3;

interface CluscamInfo {
  seed_channels: number[];
  assignments: number[];
  cluster_sizes: number[];
  deltas: number[];
  alphas: number[];
  dropped: number[];
  iterations_sklearn_n_iter: number;
}

interface ParityCase {
  name: string;
  image: string;
  map: string;
  method: 'scorecam' | 'cluscam';
  class_index: number;
  base_logit: number;
  logits: number[];
  layer: string;
  parameters: { clusters?: number; dropRatio?: number; temperature?: number };
  cluscam?: CluscamInfo;
}

interface ParityMeta {
  model_sha256: string;
  feature_layer: string;
  cases: ParityCase[];
}

const meta = JSON.parse(readFileSync(path.join(FIXTURES, 'meta.json'), 'utf8')) as ParityMeta;
const metadata = readModelMetadata(MODEL_JSON);
const modelBytes = new Uint8Array(readFileSync(MODEL));

function fixtureMap(c: ParityCase): Float32Array {
  const npy = parseNpy(new Uint8Array(readFileSync(path.join(FIXTURES, c.map))), c.map);
  expect(npy.dtype).toBe('float32');
  expect(npy.shape).toEqual([224, 224]);
  return npy.data as Float32Array;
}

function requestFor(c: ParityCase) {
  if (c.method === 'scorecam') return { method: 'scorecam' as const };
  const info = c.cluscam!;
  return {
    method: 'cluscam' as const,
    camOptions: {
      cluscam: {
        clusters: c.parameters.clusters,
        dropRatio: c.parameters.dropRatio,
        temperature: c.parameters.temperature,
        maxIterations: 300,
        seedChannels: info.seed_channels,
      },
    },
  };
}

function indexOfMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function checkAgainstFixture(label: string, c: ParityCase, map: Float32Array, details: CluscamDetails | undefined): void {
  const diff = maxAbsDiff(map, fixtureMap(c));
  console.log(`[parity] ${label} ${c.name}: max |map - fixture| = ${diff.toExponential(2)}`);
  expect(diff).toBeLessThanOrEqual(c.method === 'scorecam' ? SCORECAM_TOL : CLUSCAM_TOL);
  if (c.method !== 'cluscam') return;
  const info = c.cluscam!;
  expect(details, 'no ClusCAM details returned').toBeDefined();
  const d = details!;
  expect(Array.from(d.seedChannels)).toEqual(info.seed_channels);
  // Clusters keep the order of their seeds, so the labels compare directly.
  expect(Array.from(d.assignments)).toEqual(info.assignments);
  const deltaDiff = maxAbsDiff(d.deltas, info.deltas);
  const alphaDiff = maxAbsDiff(d.alphas, info.alphas);
  console.log(
    `[parity] ${label} ${c.name}: max |delta diff| = ${deltaDiff.toExponential(2)}, max |alpha diff| = ${alphaDiff.toExponential(2)}, ` +
      `iterations ${d.iterations[0]} (scikit-learn n_iter_ ${info.iterations_sklearn_n_iter})`,
  );
  expect(deltaDiff).toBeLessThanOrEqual(DELTA_TOL);
  expect(alphaDiff).toBeLessThanOrEqual(DELTA_TOL);
  for (const k of info.dropped) expect(d.alphas[k]).toBe(0);
  // scikit-learn's n_iter_ counts the last, confirming pass (no label changed); the engine may
  // count only the passes that moved a label.
  expect([info.iterations_sklearn_n_iter - 1, info.iterations_sklearn_n_iter]).toContain(d.iterations[0]);
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('parity fixtures', () => {
  it('describe the bundled model and layer, four cases, maps in [0,1]', () => {
    const model = JSON.parse(readFileSync(MODEL_JSON, 'utf8')) as { sha256: string };
    expect(meta.model_sha256).toBe(model.sha256);
    expect(meta.feature_layer).toBe(metadata.featureLayer);
    expect(meta.cases.map((c) => c.method).sort()).toEqual(['cluscam', 'cluscam', 'scorecam', 'scorecam']);
    for (const c of meta.cases) {
      const map = fixtureMap(c);
      expect(Math.min(...map)).toBe(0);
      expect(Math.max(...map)).toBeCloseTo(1, 5);
      expect(indexOfMax(c.logits)).toBe(c.class_index);
      if (c.method === 'cluscam') {
        const info = c.cluscam!;
        const k = c.parameters.clusters!;
        expect(info.seed_channels).toHaveLength(k);
        expect(new Set(info.seed_channels).size).toBe(k);
        expect(info.assignments).toHaveLength(256);
        expect(info.deltas).toHaveLength(k);
        expect(info.dropped).toHaveLength(Math.floor(0.5 * k));
        for (const d of info.dropped) expect(info.alphas[d]).toBe(0);
        expect(info.alphas.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      }
    }
  });
});

for (const backend of ['gpu', 'cpu'] as const) {
  describe(`Score-CAM / ClusCAM parity with NumPy + scikit-learn (${backend} engine)`, () => {
    let explainer: ModelExplainer;
    beforeAll(async () => {
      const engine: CamEngine = backend === 'gpu' ? await testEngine() : await createCamEngine({ backend: 'cpu' });
      explainer = await ModelExplainer.create({ model: modelBytes, metadata, engine, ort, numThreads: 1 });
      expect(explainer.layer).toBe(meta.feature_layer);
      return () => explainer.dispose();
    });

    for (const c of meta.cases) {
      it(`${c.name}`, { timeout: 600_000 }, async () => {
        const image = decodeImage(new Uint8Array(readFileSync(path.join(ROOT, c.image))), c.image);
        const request = requestFor(c);
        const result = await explainer.explain(image, request);
        expect(result.classIndex).toBe(c.class_index);
        expect(Math.abs(result.top5[0].logit - c.base_logit)).toBeLessThanOrEqual(1e-3);
        expect([result.height, result.width]).toEqual([224, 224]);
        checkAgainstFixture(`${backend} explainer`, c, result.map, (result as Explanation & { cluscam?: CluscamDetails }).cluscam);
      });
    }
  });
}

/**
 * The CPU engine's methods alone, without ModelExplainer: activations from the gradient model and a
 * MaskedScorer of our own (the plain model on ONNX Runtime, one masked copy per run: its input
 * has a static batch of 1), so a failure here is the method's, not the pipeline's.
 */
describe('Score-CAM / ClusCAM parity, engine methods with a direct ONNX Runtime scorer', () => {
  let plain: ort.InferenceSession;
  let gradient: ort.InferenceSession;
  let gm: ReturnType<typeof buildGradientModel>;
  beforeAll(async () => {
    gm = buildGradientModel(modelBytes, { target: meta.feature_layer });
    plain = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
    gradient = await ort.InferenceSession.create(gm.bytes, { executionProviders: ['wasm'] });
    return async () => {
      await plain.release();
      await gradient.release();
    };
  });

  async function runDirect(engine: CamEngine, c: ParityCase): Promise<CamResult> {
    const image = decodeImage(new Uint8Array(readFileSync(path.join(ROOT, c.image))), c.image);
    const { data } = preprocessCpu(image, { size: [224, 224], mean: metadata.mean, std: metadata.std });
    const out = await gradient.run({
      [gm.inputName]: new ort.Tensor('float32', data, gm.inputShape),
      [gm.classInputName]: new ort.Tensor('int64', BigInt64Array.from([BigInt(c.class_index)]), [1]),
    });
    const logits = out[gm.outputs.logits].data as Float32Array;
    expect(indexOfMax(logits)).toBe(c.class_index);
    expect(Math.abs(logits[c.class_index] - c.base_logit)).toBeLessThanOrEqual(1e-3);
    const plane = 3 * 224 * 224;
    const inputName = plain.inputNames[0];
    const outputName = plain.outputNames[0];
    let scored = 0;
    const scorer: MaskedScorer = {
      inputs: data,
      classIndices: Int32Array.from([c.class_index]),
      baseLogits: Float32Array.from([logits[c.class_index]]),
      async score(masked, count, imageIndex) {
        expect(imageIndex).toBe(0);
        const result = new Float32Array(count);
        for (let j = 0; j < count; j++) {
          const x = masked.slice(j * plane, (j + 1) * plane);
          const r = await plain.run({ [inputName]: new ort.Tensor('float32', x, [1, 3, 224, 224]) });
          result[j] = (r[outputName].data as Float32Array)[c.class_index];
        }
        scored += count;
        return result;
      },
    };
    const [, channels, h, w] = gm.activationsShape;
    const request = requestFor(c);
    const run = await engine.compute(
      c.method,
      {
        shape: { batch: 1, channels, height: h, width: w, outHeight: 224, outWidth: 224 },
        activations: Float32Array.from(out[gm.outputs.activations].data as Float32Array),
        scorer,
      },
      (request as { camOptions?: CamOptions }).camOptions ?? {},
    );
    // Score-CAM scores every channel once; ClusCAM each cluster once.
    expect(scored).toBe(c.method === 'scorecam' ? channels : c.parameters.clusters);
    return run;
  }

  // The CPU reference engine only: the GPU engine is covered through ModelExplainer above, and
  // its ClusCAM under SwiftShader is the slowest part of this file.
  for (const c of meta.cases) {
    it(`cpu: ${c.name}`, { timeout: 600_000 }, async () => {
      const run = await runDirect(await createCamEngine({ backend: 'cpu' }), c);
      expect(run.maps.length).toBe(224 * 224);
      checkAgainstFixture('cpu direct', c, run.maps, run.cluscam);
    });
  }
});
