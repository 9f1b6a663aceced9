/**
 * Models from other exporters (issue 9) against torch autograd: the fixtures of
 * models/gradients/make_import_fixtures.py (opsets 7-21, attribute and input forms, fused ops,
 * Softmax/LogSoftmax/Sigmoid heads explained as logits or probability, dynamic dims, NHWC input,
 * several outputs, a Paddle2ONNX-style MobileNetV3) are rewritten by the gradient-graph builder,
 * run with ONNX Runtime Web's wasm EP, and compared with torch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { parseNpy } from '../src/engine/io/npy';
import { buildGradientModel } from '../src/engine/model/gradient-graph';
import { listCandidateLayers, requireCandidateLayers } from '../src/engine/model/candidates';
import { DynamicInputError, NoCandidateLayerError, UnknownLayerError, UnsupportedOpError, ModelFormatError } from '../src/engine/model/errors';
import { DataType, decodeModel, encodeModel, floatTensor, makeNode, makeValueInfo } from '../src/engine/model/onnx-io';
import type { GradientModelOptions } from '../src/engine/model/types';
import { prepareModelBytes } from '../src/engine/model/prepare';
import { tinyModel } from './helpers/onnx-models';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/gradients/import');

interface TargetMeta {
  target: string;
  module: string;
  classIndex: number[];
  explain: 'logits' | 'probability';
  options: Partial<GradientModelOptions>;
  inputLayout: 'nchw' | 'nhwc';
  activationsShape: number[];
  logits: string;
  activations: string;
  gradients: string;
  notes: string;
}

const readNpy = (file: string) => parseNpy(new Uint8Array(readFileSync(file)), file);

const cases = readdirSync(FIXTURES)
  .filter((d) => existsSync(path.join(FIXTURES, d, 'model.onnx')))
  .sort()
  .map((name) => {
    const dir = path.join(FIXTURES, name);
    const targets = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && f !== 'model.json')
      .sort()
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as TargetMeta);
    return { name, dir, targets };
  });

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** [1, H, W, C] -> [1, C, H, W]. */
function nhwcToNchw(data: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[((b * h + y) * w + x) * c + k];
  return out;
}

const report: string[] = [];

async function runModel(bytes: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe.each(cases)('imported model: $name', ({ name, dir, targets }) => {
  const bytes = new Uint8Array(readFileSync(path.join(dir, 'model.onnx')));
  const input = readNpy(path.join(dir, 'input.npy'));
  const options = targets[0].options;

  it('lists the fixture targets among the candidates', () => {
    const names = listCandidateLayers(bytes, options).map((c) => c.name);
    for (const t of targets) expect(names).toContain(t.target);
  });

  it('the prepared model (input resolved, opset upgraded) computes what the original does', async () => {
    const prepared = prepareModelBytes(bytes, options);
    const data = targets[0].inputLayout === 'nhwc' ? nhwcToNchw(input.data as Float32Array, input.shape) : (input.data as Float32Array);
    const ownInput = decodeModel(bytes).graph!.input![0].name!;
    const original = await runModel(bytes, { [ownInput]: new ort.Tensor('float32', input.data as Float32Array, input.shape) });
    const after = await runModel(prepared.bytes, { [prepared.input.name]: new ort.Tensor('float32', data, prepared.input.shape) });
    for (const [name, value] of Object.entries(original)) {
      const a = value.data as Float32Array;
      expect(maxDiff(after[name].data as Float32Array, a)).toBeLessThanOrEqual(1e-6 * Math.max(maxAbs(a), 1));
    }
  });

  it.each(targets)('$module ($explain): gradients match torch', async (t) => {
    const gm = buildGradientModel(bytes, { target: t.target, explain: t.explain, ...t.options });
    expect(gm.activationsShape).toEqual(t.activationsShape);
    expect(gm.head.explained).toBe(t.explain);
    expect(gm.input.layout).toBe(t.inputLayout);
    const data = t.inputLayout === 'nhwc' ? nhwcToNchw(input.data as Float32Array, input.shape) : (input.data as Float32Array);
    const session = await ort.InferenceSession.create(gm.bytes, { executionProviders: ['wasm'] });
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({
        [gm.inputName]: new ort.Tensor('float32', data, gm.inputShape),
        [gm.classInputName]: new ort.Tensor('int64', BigInt64Array.from(t.classIndex.map(BigInt)), [1]),
      });
    } finally {
      await session.release();
    }
    const logits = readNpy(path.join(dir, t.logits)).data as Float32Array;
    const acts = readNpy(path.join(dir, t.activations)).data as Float32Array;
    const grads = readNpy(path.join(dir, t.gradients)).data as Float32Array;
    const got = (k: keyof typeof gm.outputs) => out[gm.outputs[k]].data as Float32Array;
    expect(maxDiff(got('logits'), logits)).toBeLessThanOrEqual(1e-4 * Math.max(maxAbs(logits), 1e-6));
    expect(maxDiff(got('activations'), acts)).toBeLessThanOrEqual(1e-4 * Math.max(maxAbs(acts), 1e-6));
    const diff = maxDiff(got('gradients'), grads);
    const scale = maxAbs(grads);
    report.push(`${name} ${t.module} (${t.explain}, head ${gm.head.activation ?? 'none'}, opset ${gm.input.opset.exported}): max|diff|/max|grad| = ${(diff / scale).toExponential(2)}`);
    expect(scale).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(1e-4 * scale);
  });
});

describe('imported models: choices and errors', () => {
  const paddle = new Uint8Array(readFileSync(path.join(FIXTURES, 'paddle-mobilenetv3/model.onnx')));
  const nhwc = new Uint8Array(readFileSync(path.join(FIXTURES, 'nhwc-opset13/model.onnx')));

  it('dynamic height/width without an input size is a DynamicInputError naming the input and the fix', () => {
    expect(() => listCandidateLayers(paddle)).toThrow(DynamicInputError);
    expect(() => buildGradientModel(paddle, { target: 'x' })).toThrow(/input 'x' \[p2o\.DynamicDimension\.0,3,p2o\.DynamicDimension\.1,p2o\.DynamicDimension\.2\].*--input-size HxW/);
  });

  it('resolves dynamic dims from the input size and reports it', () => {
    const candidates = listCandidateLayers(paddle, { inputSize: [48, 192] });
    expect(candidates[0].shape).toEqual([1, 32, 12, 48]);
    const gm = buildGradientModel(paddle, { target: candidates[0].name, inputSize: [48, 192] });
    expect(gm.inputShape).toEqual([1, 3, 48, 192]);
    expect(gm.input.sizeSource).toBe('option');
    expect(gm.input.dynamic).toEqual(['batch', 'height', 'width']);
    expect(gm.head).toMatchObject({ output: 'softmax_0.tmp_0', activation: 'softmax', explained: 'logits' });
    expect(gm.input.opset).toEqual({ exported: 11, now: 16 });
  });

  it('picks the first 2-D float output by default and another one by name', () => {
    const probs = buildGradientModel(nhwc, { target: listCandidateLayers(nhwc)[0].name });
    expect(probs.head.output).toBe('probs');
    expect(probs.head.activation).toBe('softmax');
    const embedding = buildGradientModel(nhwc, { target: listCandidateLayers(nhwc)[0].name, logits: 'embedding' });
    expect(embedding.head).toMatchObject({ output: 'embedding', activation: null });
    expect(embedding.numClasses).toBe(8);
    expect(() => buildGradientModel(nhwc, { target: 'x', logits: 'features' })).toThrow(/output 'features' must have a static shape \[N, classes\]/);
    expect(() => buildGradientModel(nhwc, { target: 'x', logits: 'nope' })).toThrow(UnknownLayerError);
  });

  it('detects NHWC and honours a layout override, reporting which was used', () => {
    const detected = buildGradientModel(nhwc, { target: listCandidateLayers(nhwc)[0].name });
    expect(detected.input).toMatchObject({ layout: 'nhwc', layoutSource: 'detected', shape: [1, 3, 10, 10], declared: ['unk__0', 10, 10, 3] });
    expect(detected.inputName).toBe('input_nchw');
    // Forced NCHW, the input is fed as it is declared (the model's own Transpose follows).
    const forced = buildGradientModel(nhwc, { target: listCandidateLayers(nhwc)[0].name, inputLayout: 'nchw' });
    expect(forced.input).toMatchObject({ layout: 'nchw', layoutSource: 'option', shape: [1, 10, 10, 3] });
    expect(forced.inputName).toBe('input');
  });

  it('a model without any feature map says why there is no candidate', () => {
    const model = decodeModel(tinyModel('Relu', { size: 1 }));
    const bytes = encodeModel(model);
    expect(listCandidateLayers(bytes)).toEqual([]);
    expect(() => requireCandidateLayers(bytes)).toThrow(NoCandidateLayerError);
    expect(() => requireCandidateLayers(bytes)).toThrow(/1x1/);
  });

  it('an unsupported op is a typed one-line error naming op, node and what to do', () => {
    expect(() => buildGradientModel(tinyModel('Round'), { target: 'conv_out' })).toThrow(UnsupportedOpError);
    expect(() => buildGradientModel(tinyModel('Round'), { target: 'conv_out' })).toThrow(/unsupported op Round \(node 'the_act'\).*; pick a deeper target layer/);
  });

  it('a linear Resize on the path is refused with the reason', () => {
    const model = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'resize',
        node: [
          makeNode('Conv', ['x', 'w'], ['conv_out'], 'conv', { pads: [1, 1, 1, 1] }),
          makeNode('Resize', ['conv_out', '', 'scales'], ['up'], 'the_resize', { mode: 'linear' }),
          makeNode('GlobalAveragePool', ['up'], ['gap'], 'gap'),
          makeNode('Flatten', ['gap'], ['logits'], 'flatten'),
        ],
        initializer: [floatTensor('w', [2, 3, 3, 3], new Array(54).fill(0.1)), floatTensor('scales', [4], [1, 1, 2, 2])],
        input: [makeValueInfo('x', DataType.FLOAT, [1, 3, 4, 4])],
        output: [makeValueInfo('logits', DataType.FLOAT, [1, 2])],
      },
    });
    expect(listCandidateLayers(model).map((c) => c.name)).toEqual(['up', 'conv_out']);
    expect(() => buildGradientModel(model, { target: 'conv_out' })).toThrow(UnsupportedOpError);
    expect(() => buildGradientModel(model, { target: 'conv_out' })).toThrow(/unsupported op Resize \(node 'the_resize'\).*mode 'linear'.*; pick a deeper target layer/);
    expect(() => buildGradientModel(model, { target: 'up' })).not.toThrow();
  });

  it('a pre-13 Softmax over a 4-D map (coerced to 2-D) is spelled out with the same result', async () => {
    const w = floatTensor('w', [2, 3, 3, 3], Array.from({ length: 54 }, (_, i) => Math.sin(i)));
    const model = encodeModel({
      irVersion: 6,
      opsetImport: [{ domain: '', version: 11 }],
      graph: {
        name: 'softmax4d',
        node: [
          makeNode('Conv', ['x', 'w'], ['conv_out'], 'conv', { pads: [1, 1, 1, 1] }),
          makeNode('Softmax', ['conv_out'], ['soft'], 'soft', { axis: 1 }),
          makeNode('GlobalAveragePool', ['soft'], ['gap'], 'gap'),
          makeNode('Flatten', ['gap'], ['logits'], 'flatten'),
        ],
        initializer: [w],
        input: [makeValueInfo('x', DataType.FLOAT, [1, 3, 4, 4])],
        output: [makeValueInfo('logits', DataType.FLOAT, [1, 2])],
      },
    });
    const prepared = prepareModelBytes(model);
    expect(decodeModel(prepared.bytes).graph!.node!.map((n) => n.opType)).toEqual(['Conv', 'Flatten', 'Softmax', 'Shape', 'Reshape', 'GlobalAveragePool', 'Flatten']);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 48 }, (_, i) => Math.cos(i)), [1, 3, 4, 4]);
    const a = (await runModel(model, { x })).logits.data as Float32Array;
    const b = (await runModel(prepared.bytes, { x })).logits.data as Float32Array;
    expect(maxDiff(a, b)).toBeLessThanOrEqual(1e-7);
  });

  it('Paddle-style -1 dims are dynamic too', () => {
    const model = decodeModel(paddle);
    for (const d of model.graph!.input![0].type!.tensorType!.shape!.dim!) {
      if (d.dimParam) {
        d.dimValue = -1;
        d.dimParam = '';
      }
    }
    const gm = buildGradientModel(encodeModel(model), { target: listCandidateLayers(paddle, { inputSize: [32, 96] })[0].name, inputSize: [32, 96] });
    expect(gm.input.declared).toEqual(['-1', 3, '-1', '-1']);
    expect(gm.input.dynamic).toEqual(['batch', 'height', 'width']);
  });

  it('a too old opset is a ModelFormatError', () => {
    const model = decodeModel(tinyModel('Relu'));
    model.opsetImport = [{ domain: '', version: 6 }];
    expect(() => listCandidateLayers(encodeModel(model))).toThrow(ModelFormatError);
  });

  it('prints the per-target gradient differences', () => {
    if (report.length) console.log(report.join('\n'));
  });
});
