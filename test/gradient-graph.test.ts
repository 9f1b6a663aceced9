/**
 * The gradient-graph builder against torch autograd: every fixture in test/fixtures/gradients
 * (made by models/gradients/make_fixtures.py) is rewritten, run with ONNX Runtime Web's wasm EP,
 * and its logits, activations and gradients compared with torch's.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { parseNpy } from '../src/engine/io/npy';
import { buildGradientModel } from '../src/engine/model/gradient-graph';
import { listCandidateLayers } from '../src/engine/model/candidates';
import { ModelFormatError, UnknownLayerError, UnsupportedOpError } from '../src/engine/model/errors';
import { encodeModel, floatTensor, int64Tensor, makeNode, makeValueInfo, DataType } from '../src/engine/model/onnx-io';
import { tinyModel } from './helpers/onnx-models';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/gradients');

interface TargetMeta {
  target: string;
  op: string;
  classIndex: number[];
  activationsShape: number[];
  logits: string;
  activations: string;
  gradients: string;
}

const readNpy = (file: string) => parseNpy(new Uint8Array(readFileSync(file)), file);

const fixtures = readdirSync(FIXTURES)
  .filter((d) => existsSync(path.join(FIXTURES, d, 'model.onnx')))
  .sort()
  .map((name) => {
    const dir = path.join(FIXTURES, name);
    const targets = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as TargetMeta);
    return { name, dir, targets };
  });

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

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

const report: string[] = [];

describe.each(fixtures)('gradient graph: $name', ({ dir, targets }) => {
  const modelBytes = new Uint8Array(readFileSync(path.join(dir, 'model.onnx')));
  const input = readNpy(path.join(dir, 'input.npy'));

  it('lists the fixture targets among the candidates, deepest first', () => {
    const candidates = listCandidateLayers(modelBytes);
    for (const c of candidates) {
      expect(c.shape).toHaveLength(4);
      expect(c.shape[2] * c.shape[3]).toBeGreaterThan(1);
    }
    for (let i = 1; i < candidates.length; i++) expect(candidates[i].depth).toBeLessThanOrEqual(candidates[i - 1].depth);
    const names = candidates.map((c) => c.name);
    for (const t of targets) expect(names).toContain(t.target);
  });

  it.each(targets.flatMap((t) => (['index', 'onehot'] as const).map((classInput) => ({ ...t, classInput }))))(
    '$target ($classInput)',
    async (t) => {
      const gm = buildGradientModel(modelBytes, { target: t.target, classInput: t.classInput });
      expect(gm.activationsShape).toEqual(t.activationsShape);
      expect(gm.inputShape).toEqual(input.shape);
      const batch = input.shape[0];
      const classFeed =
        t.classInput === 'index'
          ? new ort.Tensor('int64', BigInt64Array.from(t.classIndex.map(BigInt)), [batch])
          : (() => {
              const onehot = new Float32Array(batch * gm.numClasses);
              t.classIndex.forEach((c, n) => (onehot[n * gm.numClasses + c] = 1));
              return new ort.Tensor('float32', onehot, [batch, gm.numClasses]);
            })();
      const out = await run(gm.bytes, {
        [gm.inputName]: new ort.Tensor('float32', input.data as Float32Array, input.shape),
        [gm.classInputName]: classFeed,
      });
      const logits = readNpy(path.join(dir, t.logits)).data as Float32Array;
      const acts = readNpy(path.join(dir, t.activations)).data as Float32Array;
      const grads = readNpy(path.join(dir, t.gradients)).data as Float32Array;
      const got = (k: keyof typeof gm.outputs) => out[gm.outputs[k]].data as Float32Array;

      expect(maxDiff(got('logits'), logits)).toBeLessThanOrEqual(1e-4 * Math.max(maxAbs(logits), 1e-6));
      expect(maxDiff(got('activations'), acts)).toBeLessThanOrEqual(1e-4 * Math.max(maxAbs(acts), 1e-6));
      expect(out[gm.outputs.gradients].dims).toEqual(t.activationsShape);
      const diff = maxDiff(got('gradients'), grads);
      const scale = maxAbs(grads);
      report.push(`${path.basename(dir)} ${t.target} (${t.classInput}): max|diff|=${diff.toExponential(2)} max|grad|=${scale.toExponential(2)} ratio=${(diff / scale).toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(1e-5 * scale);
    },
  );
});

describe.each(fixtures)('gradient graph: top-1 class in the graph ($name)', ({ dir, targets }) => {
  it('a negative class_index gives the gradient of the argmax class', async () => {
    const modelBytes = new Uint8Array(readFileSync(path.join(dir, 'model.onnx')));
    const input = readNpy(path.join(dir, 'input.npy'));
    const gm = buildGradientModel(modelBytes, { target: targets[0].target });
    const batch = input.shape[0];
    const image = new ort.Tensor('float32', input.data as Float32Array, input.shape);
    const classes = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [batch]);
    const auto = await run(gm.bytes, { [gm.inputName]: image, [gm.classInputName]: classes(Array(batch).fill(-1)) });
    const logits = auto[gm.outputs.logits].data as Float32Array;
    const top1 = Array.from({ length: batch }, (_, n) => {
      const row = Array.from(logits.subarray(n * gm.numClasses, (n + 1) * gm.numClasses));
      return row.indexOf(Math.max(...row));
    });
    const explicit = await run(gm.bytes, { [gm.inputName]: image, [gm.classInputName]: classes(top1) });
    expect(Array.from(auto[gm.outputs.gradients].data as Float32Array)).toEqual(Array.from(explicit[gm.outputs.gradients].data as Float32Array));
  });
});

/**
 * Ops torch does not emit in the fixtures (Identity, Dropout, Gemm with transA / transB / alpha /
 * beta and the path in B and C, ReduceMean over axis 0), checked against central differences.
 */
function gemmModel(): Uint8Array {
  const rand = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + k) * 0.8);
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'gemm',
      node: [
        makeNode('Identity', ['x'], ['id_out'], 'id'),
        makeNode('Dropout', ['id_out'], ['drop_out'], 'drop'),
        makeNode('Sigmoid', ['drop_out'], ['s'], 'sig'),
        makeNode('Reshape', ['s', 'shape'], ['a'], 'reshape'),
        makeNode('Gemm', ['a', 'bw'], ['g'], 'gemm1', { transA: 1, alpha: { float: 0.7 } }),
        makeNode('ReduceMean', ['g'], ['r'], 'mean', { axes: [0], keepdims: 1 }),
        makeNode('Transpose', ['g'], ['gt'], 'transpose', { perm: [1, 0] }),
        makeNode('Gemm', ['pw', 'gt', 'r'], ['logits'], 'gemm2', { transB: 1, alpha: { float: 1.3 }, beta: { float: 0.6 } }),
      ],
      initializer: [
        floatTensor('bw', [2, 3], rand(6, 1)),
        floatTensor('pw', [1, 25], rand(25, 2)),
        int64Tensor('shape', [2], [2, 25]),
      ],
      input: [makeValueInfo('x', DataType.FLOAT, [1, 2, 5, 5])],
      output: [makeValueInfo('logits', DataType.FLOAT, [1, 3])],
    },
  });
}

describe('gradient graph: Gemm/Identity/Dropout against finite differences', () => {
  it('matches central differences', async () => {
    const bytes = gemmModel();
    const gm = buildGradientModel(bytes, { target: 'id_out' });
    const x = Float32Array.from({ length: 50 }, (_, i) => Math.cos(0.9 * i) * 1.5);
    const cls = 1;
    const out = await run(gm.bytes, {
      x: new ort.Tensor('float32', x, [1, 2, 5, 5]),
      class_index: new ort.Tensor('int64', BigInt64Array.from([BigInt(cls)]), [1]),
    });
    const grad = out.gradients.data as Float32Array;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const h = 1e-2;
    const fd = new Float32Array(50);
    for (let i = 0; i < 50; i++) {
      const f = async (delta: number) => {
        const xp = Float32Array.from(x);
        xp[i] += delta;
        const r = await session.run({ x: new ort.Tensor('float32', xp, [1, 2, 5, 5]) });
        return (r.logits.data as Float32Array)[cls];
      };
      fd[i] = ((await f(h)) - (await f(-h))) / (2 * h);
    }
    await session.release();
    expect(maxDiff(grad, fd)).toBeLessThanOrEqual(2e-3 * maxAbs(fd));
    expect(maxAbs(fd)).toBeGreaterThan(1e-3);
  });
});

describe('gradient graph: errors', () => {
  it('names an unsupported op and its node', () => {
    const bytes = tinyModel('Sin');
    expect(() => buildGradientModel(bytes, { target: 'conv_out' })).toThrow(UnsupportedOpError);
    expect(() => buildGradientModel(bytes, { target: 'conv_out' })).toThrow(/Sin.*the_act/);
    // Past the unsupported op the path is fine.
    expect(() => buildGradientModel(bytes, { target: 'act' })).not.toThrow();
  });

  it('rejects an unknown target with UnknownLayerError', () => {
    expect(() => buildGradientModel(tinyModel('Relu'), { target: 'nope' })).toThrow(UnknownLayerError);
    expect(() => buildGradientModel(tinyModel('Relu'), { target: 'nope' })).toThrow(/nope.*listCandidateLayers/);
  });

  it('rejects non-ONNX bytes with ModelFormatError', () => {
    const junk = new TextEncoder().encode('this is not an onnx model at all');
    expect(() => buildGradientModel(junk, { target: 'x' })).toThrow(ModelFormatError);
    expect(() => listCandidateLayers(new Uint8Array([0xff, 0xff, 0xff, 0x01]))).toThrow(ModelFormatError);
  });

  it('prints the per-target gradient differences', () => {
    if (report.length) console.log(report.join('\n'));
  });
});
