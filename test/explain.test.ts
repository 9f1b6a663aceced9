/**
 * Image to explanation in Node: the gradient model on ONNX Runtime's wasm EP feeding the CAM
 * engine (GPU on Dawn, and the CPU reference), through the library and through the CLI.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { createCamEngine } from '../src/engine/engine';
import { ModelExplainer } from '../src/engine/model/explainer';
import { buildGradientModel } from '../src/engine/model/gradient-graph';
import { decodeImage, encodePng } from '../src/engine/model/image-io';
import { preprocessCpu } from '../src/engine/model/preprocess-cpu';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import { parseNpy } from '../src/engine/io/npy';
import { testEngine } from './helpers/gpu';
import { maxAbsDiff } from './helpers/golden';
import { randomImage } from './helpers/random';
import { tinyModel } from './helpers/onnx-models';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'test/fixtures/gradients/resnetish/model.onnx');
const CLI = path.join(ROOT, 'bin/webgpu-cam.js');

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('ModelExplainer (wasm EP + CAM engine)', () => {
  const modelBytes = new Uint8Array(readFileSync(MODEL));
  const image = randomImage(41, 37, 7);

  it('explains the top-1 class by default, with the same map on GPU and CPU', async () => {
    const gpu = await ModelExplainer.create({ model: modelBytes, engine: await testEngine(), ort, numThreads: 1 });
    const cpu = await ModelExplainer.create({ model: modelBytes, engine: await createCamEngine({ backend: 'cpu' }), ort, numThreads: 1 });
    try {
      for (const method of ['cfcam', 'gradcam'] as const) {
        const a = await gpu.explain(image, { method });
        const b = await cpu.explain(image, { method });
        expect(a.classIndex).toBe(a.top5[0].index);
        expect(a.top5.map((s) => s.index)).toEqual(b.top5.map((s) => s.index));
        expect([a.height, a.width]).toEqual(gpu.inputSize);
        expect(a.map.length).toBe(a.width * a.height);
        expect(maxAbsDiff(a.map, b.map)).toBeLessThanOrEqual(1e-4);
        expect(Math.max(...a.map)).toBeCloseTo(1, 5);
      }
    } finally {
      await gpu.dispose();
      await cpu.dispose();
    }
  });

  it('equals the CAM of the gradient model run by hand on the pre-processed image', async () => {
    const explainer = await ModelExplainer.create({ model: modelBytes, engine: await createCamEngine({ backend: 'cpu' }), ort, numThreads: 1 });
    try {
      const classIndex = 3;
      const result = await explainer.explain(image, { method: 'gradcampp', classIndex });
      expect(result.classIndex).toBe(classIndex);
      // Independently: the same layer's gradient model, run directly with ORT.
      const gm = buildGradientModel(modelBytes, { target: explainer.layer });
      const [, , h, w] = gm.inputShape;
      const { data } = preprocessCpu(image, { size: [h, w] });
      const session = await ort.InferenceSession.create(gm.bytes, { executionProviders: ['wasm'] });
      const out = await session.run({
        [gm.inputName]: new ort.Tensor('float32', data, gm.inputShape),
        [gm.classInputName]: new ort.Tensor('int64', BigInt64Array.from([BigInt(classIndex)]), [1]),
      });
      await session.release();
      const [, c, lh, lw] = gm.activationsShape;
      const expected = computeCamCpu('gradcampp', {
        shape: { batch: 1, channels: c, height: lh, width: lw, outHeight: h, outWidth: w },
        activations: out[gm.outputs.activations].data as Float32Array,
        gradients: out[gm.outputs.gradients].data as Float32Array,
      });
      expect(maxAbsDiff(result.map, expected.maps)).toBeLessThanOrEqual(1e-6);
    } finally {
      await explainer.dispose();
    }
  });

  it('holds no more GPU memory or ORT tensors after 1,000 explanations than after a few', async () => {
    const engine = await testEngine();
    const explainer = await ModelExplainer.create({ model: modelBytes, engine, ort, numThreads: 1 });
    try {
      for (let i = 0; i < 10; i++) await explainer.explain(image, { method: 'gradcam' });
      const pooled = engine.gpu!.pool.bytes;
      for (let i = 0; i < 1000; i++) await explainer.explain(image, { method: 'gradcam', classIndex: i % 10 });
      expect(engine.gpu!.pool.bytes).toBe(pooled);
      const stats = explainer.stats();
      expect(stats.runs).toBe(1010);
      expect(stats.liveTensors).toBe(0);
      expect(stats.liveUploads).toBe(0);
    } finally {
      await explainer.dispose();
    }
  });

  it('rejects a class outside the model', async () => {
    const explainer = await ModelExplainer.create({ model: modelBytes, engine: await createCamEngine({ backend: 'cpu' }), ort, numThreads: 1 });
    try {
      await expect(explainer.explain(image, { classIndex: 10_000 })).rejects.toThrow(/out of range/);
    } finally {
      await explainer.dispose();
    }
  });
});

describe('webgpu-cam explain (CLI)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-explain-'));
  const imagePath = path.join(dir, 'image.png');
  writeFileSync(imagePath, encodePng(randomImage(45, 30, 3)));

  function cli(...args: string[]) {
    if (!existsSync(path.join(ROOT, 'dist/node/cli.js'))) throw new Error('dist/node/cli.js is missing: run `npm run build` first');
    return spawnSync(process.execPath, [CLI, 'explain', ...args], { encoding: 'utf8', env: process.env });
  }

  it('writes an overlay at the image size and a heatmap at the model size, and prints the top-5', () => {
    const out = path.join(dir, 'overlay.png');
    const heatmap = path.join(dir, 'cam.npy');
    const run = cli('--model', MODEL, '--image', imagePath, '--method', 'gradcam', '--out', out, '--heatmap', heatmap, '--json');
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.top5).toHaveLength(5);
    expect(summary.classIndex).toBe(summary.top5[0].index);
    expect(summary.timings.modelMs).toBeGreaterThan(0);
    const png = decodeImage(new Uint8Array(readFileSync(out)));
    expect([png.width, png.height]).toEqual([45, 30]);
    const map = parseNpy(new Uint8Array(readFileSync(heatmap)));
    expect(map.shape).toEqual([32, 32]);
  });

  it('lists candidate layers', () => {
    const run = cli('--model', MODEL, '--list-layers', '--json');
    expect(run.status, run.stderr).toBe(0);
    const layers = JSON.parse(run.stdout) as { name: string; shape: number[] }[];
    expect(layers.length).toBeGreaterThan(0);
    expect(layers.every((l) => l.shape.length === 4)).toBe(true);
  });

  const oneLineError = (run: ReturnType<typeof cli>, pattern: RegExp) => {
    expect(run.status).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^webgpu-cam: /);
    expect(lines[0]).toMatch(pattern);
  };

  it('rejects a file that is not an image', () => {
    const notImage = path.join(dir, 'notes.png');
    writeFileSync(notImage, 'hello');
    oneLineError(cli('--model', MODEL, '--image', notImage), /notes\.png/);
  });

  it('rejects a file that is not an ONNX model', () => {
    const notModel = path.join(dir, 'model.onnx');
    writeFileSync(notModel, 'not a model at all');
    oneLineError(cli('--model', notModel, '--image', imagePath), /ONNX|model/i);
  });

  it('rejects an unknown layer', () => {
    oneLineError(cli('--model', MODEL, '--image', imagePath, '--layer', 'no/such/layer'), /no\/such\/layer/);
  });

  it('names an unsupported op on the path', () => {
    const model = path.join(dir, 'softplus.onnx');
    writeFileSync(model, tinyModel('Softplus', { channels: 3, size: 8 }));
    oneLineError(cli('--model', model, '--image', imagePath, '--layer', 'conv_out'), /Softplus/);
  });
});
