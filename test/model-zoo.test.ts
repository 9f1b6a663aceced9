/**
 * The model zoo's npm-test subset (issue 9, items 5 and 6): torchvision's MobileNetV3, ViT and
 * Swin classes built small (test/fixtures/zoo, made by `models/zoo/export_zoo.py --tiny`), each
 * in its stored variants plus a Softmax appended here. Gradients against torch autograd, the GPU
 * engine's Grad-CAM against the NumPy Grad-CAM, the transformer candidate listing, the
 * reshape-transform's detection and overrides, and every CAM method on a transformer layer.
 * The whole zoo is models/zoo/verify-zoo.ts (models/zoo/README.md).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { appendSoftmax, checkZooVariant, GRAD_REL_TOLERANCE, MAP_TOLERANCE, type ZooModel } from '../models/zoo/zoo-check';
import { listCandidateLayers } from '../src/engine/model/candidates';
import { resolveReshapeTransform } from '../src/engine/model/reshape-transform';
import { buildGradientModel } from '../src/engine/model/gradient-graph';
import { ModelExplainer } from '../src/engine/model/explainer';
import { InvalidOptionError } from '../src/engine/errors';
import { parseNpy } from '../src/engine/io/npy';
import { LAYER_METHODS, MODEL_SCORED_METHODS } from '../src/engine/methods/registry';
import { testEngine } from './helpers/gpu';
import { randomImage } from './helpers/random';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/zoo');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'manifest.json'), 'utf8')) as { models: ZooModel[] };
const model = (name: string) => manifest.models.find((m) => m.name === name)!;
const bytesOf = (name: string, variant = 'static17') => new Uint8Array(readFileSync(path.join(ROOT, name, `${variant}.onnx`)));

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

const cases = manifest.models.flatMap((m) => [
  ...Object.keys(m.variants).map((variant) => ({ name: m.name, variant })),
  { name: m.name, variant: 'softmax' },
]);

describe('model zoo subset: gradients vs torch, Grad-CAM vs NumPy', () => {
  it.each(cases)('$name $variant', async ({ name, variant }) => {
    const m = model(name);
    const derived = variant === 'softmax' && !m.variants.softmax;
    const r = await checkZooVariant(ROOT, m, variant, await testEngine(), derived ? { modelBytes: appendSoftmax(bytesOf(name)), baseVariant: 'static17' } : {});
    expect(r.error).toBeUndefined();
    expect(r.grid).toEqual(m.gridShape);
    expect(r.logitsRel).toBeLessThanOrEqual(1e-4);
    expect(r.activationsRel).toBeLessThanOrEqual(1e-4);
    expect(r.gradRel).toBeLessThanOrEqual(GRAD_REL_TOLERANCE);
    expect(r.mapMaxAbs).toBeLessThanOrEqual(MAP_TOLERANCE);
    expect(r.pass).toBe(true);
    expect(r.withinNoise).toBe(false);
  });
});

describe('transformer candidate layers', () => {
  it('ViT: token layers with their grid; the last block after its attention is not listed', () => {
    const m = model('tiny_vit');
    const candidates = listCandidateLayers(bytesOf('tiny_vit'));
    expect(candidates[0].name).toBe(m.variants.static17.target);
    expect(candidates[0]).toMatchObject({ layout: 'tokens', shape: [1, 17, 32], grid: [1, 32, 4, 4] });
    // After the last attention only the class token reaches the head: zero patch gradients.
    expect(candidates.some((c) => c.name.includes('encoder_layer_1/') && !c.name.includes('ln_1'))).toBe(false);
    expect(candidates.some((c) => c.name.startsWith('/encoder/ln/'))).toBe(false);
  });

  it('ViT opset 13 (decomposed LayerNorm): the norm output is listed, not its per-token statistics', () => {
    const candidates = listCandidateLayers(bytesOf('tiny_vit', 'opset13'));
    expect(candidates[0].name).toBe(model('tiny_vit').variants.opset13.target);
    // Token layers have a grid of more than one channel; the rest (the patch-embedding conv) are NCHW maps.
    for (const c of candidates) c.grid ? expect(c.grid[1]).toBeGreaterThan(1) : expect(c.shape).toHaveLength(4);
    expect(candidates.some((c) => c.name.endsWith('ln_1/Add_output_0'))).toBe(false);
  });

  it('Swin: channels-last [B,H,W,D] layers listed with their [B,D,H,W] grid', () => {
    const candidates = listCandidateLayers(bytesOf('tiny_swin'));
    expect(candidates.length).toBeGreaterThan(10);
    const target = candidates.find((c) => c.name === model('tiny_swin').variants.static17.target)!;
    expect(target).toMatchObject({ layout: 'channels-last', shape: [1, 4, 4, 32], grid: [1, 32, 4, 4] });
    // Window tensors [windows * B, tokens per window, D] are not the image's tokens: not listed.
    for (const c of candidates) expect(c.shape[0]).toBe(1);
    expect(candidates[0]).toMatchObject({ op: 'LayerNormalization', layout: 'channels-last' });
  });

  it('CNN candidates are unchanged: NCHW maps, no layout', () => {
    for (const c of listCandidateLayers(bytesOf('tiny_mobilenet_v3'))) {
      expect(c.layout).toBeUndefined();
      expect(c.shape).toHaveLength(4);
    }
  });
});

describe('reshape-transform', () => {
  it('detects tokens (0, 1 or 2 leading tokens), channels-last and NCHW from the shape', () => {
    expect(resolveReshapeTransform([1, 197, 768], [224, 224])).toMatchObject({ kind: 'tokens', prefixTokens: 1, to: [1, 768, 14, 14] });
    expect(resolveReshapeTransform([1, 196, 768], [224, 224])).toMatchObject({ kind: 'tokens', prefixTokens: 0, to: [1, 768, 14, 14] });
    expect(resolveReshapeTransform([1, 198, 384], [224, 224])).toMatchObject({ kind: 'tokens', prefixTokens: 2, to: [1, 384, 14, 14] });
    expect(resolveReshapeTransform([1, 1 + 12 * 16, 64], [192, 256])).toMatchObject({ kind: 'tokens', prefixTokens: 1, to: [1, 64, 12, 16] });
    expect(resolveReshapeTransform([1, 7, 7, 768], [224, 224])).toMatchObject({ kind: 'channels-last', to: [1, 768, 7, 7] });
    expect(resolveReshapeTransform([1, 768, 7, 7], [224, 224]).kind).toBe('none');
    expect(resolveReshapeTransform([1, 50, 10], [224, 224]).kind).toBe('tokens');
    expect(resolveReshapeTransform([1, 51, 10], [224, 224])).toMatchObject({ kind: 'tokens', prefixTokens: 2 });
    expect(resolveReshapeTransform([1, 53, 10], [224, 224]).kind).toBe('none');
  });

  it('an explicit choice overrides the guess; a choice that does not fit is a typed error', () => {
    expect(resolveReshapeTransform([1, 50, 10], [224, 224], 'tokens:1')).toMatchObject({ prefixTokens: 1, to: [1, 10, 7, 7] });
    expect(resolveReshapeTransform([1, 7, 7, 768], [224, 224], 'none').kind).toBe('none');
    expect(() => resolveReshapeTransform([1, 50, 10], [224, 224], 'tokens:0')).toThrow(InvalidOptionError);
    expect(() => resolveReshapeTransform([1, 768, 7, 7], [224, 224], 'tokens')).toThrow(InvalidOptionError);
    expect(() => resolveReshapeTransform([1, 50, 10], [224, 224], 'channels-last')).toThrow(/channels-last needs a 4-D/);
  });

  it('is written into the gradient model: activations and gradients come out as [B, D, h, w]', () => {
    const target = model('tiny_vit').variants.static17.target!;
    const gm = buildGradientModel(bytesOf('tiny_vit'), { target });
    expect(gm.activationsShape).toEqual([1, 32, 4, 4]);
    expect(gm.reshape).toMatchObject({ kind: 'tokens', prefixTokens: 1, from: [1, 17, 32] });
    expect(buildGradientModel(bytesOf('tiny_vit'), { target, reshapeTransform: 'none' }).activationsShape).toEqual([1, 17, 32]);
  });
});

describe('every CAM method on a transformer layer (ModelExplainer, GPU engine)', () => {
  const methods = [...LAYER_METHODS, ...MODEL_SCORED_METHODS];
  it.each(['tiny_vit', 'tiny_swin'])('%s', async (name) => {
    const explainer = await ModelExplainer.create({ model: bytesOf(name), engine: await testEngine(), ort, numThreads: 1 });
    try {
      expect(explainer.layer).toBe(listCandidateLayers(bytesOf(name))[0].name);
      const image = randomImage(40, 36, 3);
      for (const method of methods) {
        const r = await explainer.explain(image, { method, camOptions: method === 'cluscam' ? { cluscam: { clusters: 4 } } : {} });
        expect([r.height, r.width]).toEqual([32, 32]);
        let min = Infinity;
        let max = -Infinity;
        for (const v of r.map) {
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        expect(min, method).toBeGreaterThanOrEqual(0);
        expect(max, method).toBeLessThanOrEqual(1);
        expect(max - min, `${method} map is flat`).toBeGreaterThan(0.1);
      }
    } finally {
      await explainer.dispose();
    }
  });

  it('a token layer without a transform is refused with a typed error that names the fix', async () => {
    await expect(
      ModelExplainer.create({ model: bytesOf('tiny_vit'), engine: await testEngine(), ort, numThreads: 1, reshapeTransform: 'none' }),
    ).rejects.toThrow(/not a \[N, C, H, W\] map: choose reshapeTransform 'tokens'/);
  });
});

describe('transformer backward rules in their less common forms (models/zoo/make_op_fixtures.py)', () => {
  const OPS = path.resolve(ROOT, '../zoo-ops');
  it.each(['opset17', 'opset13'])('%s: Split, repeated Gather, flip, Where, Expand, Pow 3, Sqrt, middle-axis Softmax, 2-axis LayerNorm, broadcast MatMul', async (opset) => {
    const dir = path.join(OPS, opset);
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { target: string; classIndex: number; ops: string[] };
    for (const op of ['Split', 'Gather', 'Slice', 'Where', 'Expand', 'Pow', 'Sqrt', 'Softmax', 'Erf', 'MatMul']) expect(meta.ops).toContain(op);
    const gm = buildGradientModel(new Uint8Array(readFileSync(path.join(dir, 'model.onnx'))), { target: meta.target });
    const npy = (f: string) => parseNpy(new Uint8Array(readFileSync(path.join(dir, f))), f);
    const input = npy('input.npy');
    const session = await ort.InferenceSession.create(gm.bytes, { executionProviders: ['wasm'] });
    try {
      const out = await session.run({
        [gm.inputName]: new ort.Tensor('float32', input.data as Float32Array, input.shape),
        [gm.classInputName]: new ort.Tensor('int64', BigInt64Array.of(BigInt(meta.classIndex)), [1]),
      });
      const want = npy('gradients.npy').data as Float32Array;
      const got = out[gm.outputs.gradients].data as Float32Array;
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < want.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - want[i]));
        scale = Math.max(scale, Math.abs(want[i]));
      }
      expect(scale).toBeGreaterThan(0);
      expect(diff).toBeLessThanOrEqual(1e-5 * scale);
    } finally {
      await session.release();
    }
  });
});
