/**
 * The gradient-graph builder on full-size torchvision models, against torch autograd.
 *
 *   /usr/bin/python3 models/big/export_big_models.py [/tmp/webgpu-cam-big]
 *   npx tsx scripts/verify-big-models.ts [/tmp/webgpu-cam-big] [--models resnet18,vgg16]
 *
 * For every model and target in <dir>/manifest.json: rewrite the model with buildGradientModel
 * (class given as an int64 `class_index`), run it once with ONNX Runtime Web's wasm EP (one
 * thread), and compare logits, activations and d logit[class] / d activations with torch's.
 * A target passes when max|grad - torch grad| <= 1e-5 * max|torch grad| (the issue's criterion).
 * Prints a table, writes <dir>/report.json and exits 1 if any target fails (or cannot be built
 * or run).
 *
 * The exporter also saves torch's gradient computed in float64. Far from the logits, a float32
 * gradient of a ReLU / ReLU6 network is ill-conditioned (pre-activations within rounding error of
 * a kink flip their mask between any two float32 implementations, torch's own float32 included),
 * so the table also gives max|ORT - torch64| and torch's own max|torch32 - torch64| (both over
 * max|torch64|). A target is "within fp32 noise" when ORT's error against float64 is at most
 * max(1e-5, 2 x torch32's); with --noise-aware the exit status follows that verdict instead.
 * "kink flips" (from the exporter) counts the ReLU / ReLU6 elements downstream of the target whose
 * mask differs between torch's float32 and float64 forward passes.
 * With --dump, ORT's gradients are also saved as <dir>/<model>/<key>.ort-gradients.npy.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { encodeNpy, parseNpy } from '../src/engine/io/npy';
import { buildGradientModel } from '../src/engine/model/gradient-graph';
import { listCandidateLayers } from '../src/engine/model/candidates';
import { UnsupportedOpError } from '../src/engine/model/errors';

const GRAD_TOLERANCE = 1e-5;

interface TargetEntry {
  key: string;
  module: string;
  target: string;
  node: string;
  op: string;
  classIndex: number[];
  activationsShape: number[];
  logits: string;
  activations: string;
  gradients: string;
  gradients64?: string;
  torch32VsTorch64?: number;
  kinkFlipsDownstream32Vs64?: number;
}

interface ModelEntry {
  name: string;
  dir: string;
  model: string;
  input: string;
  classIndex: number;
  targets: TargetEntry[];
}

interface Row {
  model: string;
  key: string;
  module: string;
  target: string;
  op: string;
  classIndex: number;
  shape: number[];
  candidate: boolean | null;
  maxAbsGrad: number;
  gradMaxDiff: number;
  gradRel: number;
  gradMeanDiff: number;
  /** max|ORT - torch64| / max|torch64| and max|torch32 - torch64| / max|torch64|. */
  ortVs64: number;
  torch32Vs64: number;
  withinFp32Noise: boolean;
  /** ReLU / ReLU6 elements after the target whose mask differs between torch float32 and float64. */
  kinkFlips: number | null;
  activationsRel: number;
  logitsRel: number;
  buildMs: number;
  sessionMs: number;
  runMs: number;
  extraNodes: number;
  pass: boolean;
  error?: string;
  unsupportedOp?: { opType: string; node: string };
}

function parseArgs(argv: string[]) {
  let dir = process.env.WEBGPU_CAM_BIG ?? '/tmp/webgpu-cam-big';
  let only: Set<string> | null = null;
  let dump = false;
  let noiseAware = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dump') dump = true;
    else if (argv[i] === '--noise-aware') noiseAware = true;
    else if (argv[i] === '--models') only = new Set(argv[++i].split(',').filter(Boolean));
    else if (argv[i].startsWith('--models=')) only = new Set(argv[i].slice(9).split(',').filter(Boolean));
    else dir = argv[i];
  }
  return { dir: path.resolve(dir), only, dump, noiseAware };
}

const readBytes = (file: string) => {
  const buf = readFileSync(file);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
};
const readFloat = (file: string) => {
  const a = parseNpy(readBytes(file), file);
  if (a.dtype !== 'float32') throw new Error(`${file}: expected float32, got ${a.dtype}`);
  return a as { shape: number[]; data: Float32Array };
};
const readDouble = (file: string) => {
  const a = parseNpy(readBytes(file), file);
  if (a.dtype !== 'float64') throw new Error(`${file}: expected float64, got ${a.dtype}`);
  return a as { shape: number[]; data: Float64Array };
};

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function diffStats(got: ArrayLike<number>, want: ArrayLike<number>) {
  if (got.length !== want.length) throw new Error(`length mismatch: ${got.length} vs ${want.length}`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= max)) max = d; // NaN propagates
    sum += d;
  }
  return { max, mean: sum / got.length };
}

const exp = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
const now = () => performance.now();

async function verifyModel(root: string, m: ModelEntry, dump: boolean): Promise<Row[]> {
  const dir = path.join(root, m.dir);
  const bytes = readBytes(path.join(dir, m.model));
  const input = readFloat(path.join(dir, m.input));
  let candidates: Set<string> | null = null;
  try {
    candidates = new Set(listCandidateLayers(bytes).map((c) => c.name));
  } catch (e) {
    console.error(`${m.name}: listCandidateLayers failed: ${(e as Error).message}`);
  }
  const originalNodes = countNodes(bytes);
  const rows: Row[] = [];
  for (const t of m.targets) {
    const row: Row = {
      model: m.name, key: t.key, module: t.module, target: t.target, op: t.op, classIndex: t.classIndex[0],
      shape: t.activationsShape, candidate: candidates ? candidates.has(t.target) : null,
      maxAbsGrad: NaN, gradMaxDiff: NaN, gradRel: NaN, gradMeanDiff: NaN, ortVs64: NaN, torch32Vs64: NaN,
      withinFp32Noise: false, kinkFlips: t.kinkFlipsDownstream32Vs64 ?? null, activationsRel: NaN, logitsRel: NaN,
      buildMs: NaN, sessionMs: NaN, runMs: NaN, extraNodes: NaN, pass: false,
    };
    rows.push(row);
    let session: ort.InferenceSession | null = null;
    try {
      let t0 = now();
      const gm = buildGradientModel(bytes, { target: t.target, classInput: 'index' });
      row.buildMs = now() - t0;
      row.extraNodes = countNodes(gm.bytes) - originalNodes;
      if (JSON.stringify(gm.activationsShape) !== JSON.stringify(t.activationsShape)) {
        throw new Error(`activations shape [${gm.activationsShape}] != torch [${t.activationsShape}]`);
      }
      t0 = now();
      session = await ort.InferenceSession.create(gm.bytes, { executionProviders: ['wasm'] });
      row.sessionMs = now() - t0;
      const feeds = {
        [gm.inputName]: new ort.Tensor('float32', input.data, input.shape),
        [gm.classInputName]: new ort.Tensor('int64', BigInt64Array.from(t.classIndex.map(BigInt)), [t.classIndex.length]),
      };
      t0 = now();
      const out = await session.run(feeds);
      row.runMs = now() - t0;
      const got = (k: keyof typeof gm.outputs) => out[gm.outputs[k]].data as Float32Array;

      const logits = readFloat(path.join(dir, t.logits)).data;
      const acts = readFloat(path.join(dir, t.activations)).data;
      const grads = readFloat(path.join(dir, t.gradients)).data;
      row.logitsRel = diffStats(got('logits'), logits).max / Math.max(maxAbs(logits), 1e-30);
      row.activationsRel = diffStats(got('activations'), acts).max / Math.max(maxAbs(acts), 1e-30);
      if (dump) writeFileSync(path.join(dir, `${t.key}.ort-gradients.npy`), encodeNpy(got('gradients'), t.activationsShape));
      const g = diffStats(got('gradients'), grads);
      row.maxAbsGrad = maxAbs(grads);
      row.gradMaxDiff = g.max;
      row.gradMeanDiff = g.mean;
      row.gradRel = g.max / Math.max(row.maxAbsGrad, 1e-30);
      row.pass = g.max <= GRAD_TOLERANCE * row.maxAbsGrad;
      if (t.gradients64 && existsSync(path.join(dir, t.gradients64))) {
        const g64 = readDouble(path.join(dir, t.gradients64)).data;
        const scale64 = Math.max(maxAbs(g64), 1e-300);
        row.ortVs64 = diffStats(got('gradients'), g64).max / scale64;
        row.torch32Vs64 = diffStats(grads, g64).max / scale64;
        row.withinFp32Noise = row.ortVs64 <= Math.max(GRAD_TOLERANCE, 2 * row.torch32Vs64);
      } else {
        row.withinFp32Noise = row.pass;
      }
    } catch (e) {
      row.error = (e as Error).message;
      if (e instanceof UnsupportedOpError) row.unsupportedOp = { opType: e.opType, node: e.nodeName };
    } finally {
      await session?.release();
    }
    printRow(row);
  }
  return rows;
}

/** Node count of a serialised model, for the "nodes added" column (cheap: only the graph's node list). */
function countNodes(bytes: Uint8Array): number {
  // ModelProto.graph = field 7, GraphProto.node = field 1 (both length-delimited).
  const graph = findField(bytes, 0, bytes.length, 7);
  if (!graph) return NaN;
  let n = 0;
  forEachField(bytes, graph[0], graph[1], (field) => {
    if (field === 1) n++;
  });
  return n;
}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (;;) {
    const byte = b[pos++];
    result += (byte & 0x7f) * mul;
    if (byte < 0x80) return [result, pos];
    mul *= 128;
  }
}

function forEachField(b: Uint8Array, start: number, end: number, cb: (field: number, s: number, e: number) => void) {
  let pos = start;
  while (pos < end) {
    const [key, p1] = readVarint(b, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    pos = p1;
    if (wire === 0) pos = readVarint(b, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, p2] = readVarint(b, pos);
      cb(field, p2, p2 + len);
      pos = p2 + len;
    } else throw new Error(`unexpected protobuf wire type ${wire}`);
  }
}

function findField(b: Uint8Array, start: number, end: number, wanted: number): [number, number] | null {
  let found: [number, number] | null = null;
  forEachField(b, start, end, (field, s, e) => {
    if (field === wanted && !found) found = [s, e];
  });
  return found;
}

const COLUMNS = [
  'model', 'target', 'activations', 'class', 'max|grad|', 'max|Δgrad|/max|grad|', 'acts rel', 'logits rel',
  'build', 'session', 'run', 'result (≤ 1e-5)', 'ORT vs f64', 'torch32 vs f64', 'kink flips', 'fp32 noise',
];

function cells(r: Row): string[] {
  const ms = (x: number) => (Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : '-');
  return [
    r.model,
    `${r.key} \`${r.target}\`${r.candidate === false ? ' (not a candidate)' : ''}`,
    `[${r.shape.join(', ')}]`,
    String(r.classIndex),
    exp(r.maxAbsGrad),
    exp(r.gradRel),
    exp(r.activationsRel),
    exp(r.logitsRel),
    ms(r.buildMs),
    ms(r.sessionMs),
    ms(r.runMs),
    r.error ? `ERROR: ${r.error}` : r.pass ? 'pass' : 'FAIL',
    exp(r.ortVs64),
    exp(r.torch32Vs64),
    r.kinkFlips === null ? '-' : String(r.kinkFlips),
    r.error ? '-' : r.withinFp32Noise ? 'within' : 'OUTSIDE',
  ];
}

let printedHeader = false;
function printRow(r: Row) {
  if (!printedHeader) {
    console.log(`| ${COLUMNS.join(' | ')} |`);
    console.log(`|${COLUMNS.map(() => '---').join('|')}|`);
    printedHeader = true;
  }
  console.log(`| ${cells(r).join(' | ')} |`);
}

async function main() {
  const { dir, only, dump, noiseAware } = parseArgs(process.argv.slice(2));
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    console.error(`${manifestPath} not found; export the models first: /usr/bin/python3 models/big/export_big_models.py ${dir}`);
    process.exit(2);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { models: ModelEntry[] };
  const models = manifest.models.filter((m) => !only || only.has(m.name));
  ort.env.wasm.numThreads = 1;
  console.log(`onnxruntime-web ${ort.env.versions?.web ?? ''} wasm EP, 1 thread; pass: max|Δgrad| <= ${GRAD_TOLERANCE} * max|grad|\n`);

  const t0 = now();
  const rows: Row[] = [];
  for (const m of models) rows.push(...(await verifyModel(dir, m, dump)));
  const totalS = (now() - t0) / 1000;

  const failed = rows.filter((r) => !r.pass);
  const outsideNoise = rows.filter((r) => !r.withinFp32Noise);
  console.log(`\n${rows.length - failed.length}/${rows.length} targets pass max|Δgrad| <= ${GRAD_TOLERANCE} * max|grad|; ` +
    `${rows.length - outsideNoise.length}/${rows.length} within float32 noise; total ${totalS.toFixed(1)} s`);
  for (const r of failed) {
    console.log(`  ${r.model} ${r.key} (${r.target}): ${r.error ?? `max|Δgrad|/max|grad| = ${exp(r.gradRel)} > ${GRAD_TOLERANCE}` +
      ` (ORT vs f64 ${exp(r.ortVs64)}, torch32 vs f64 ${exp(r.torch32Vs64)}: ${r.withinFp32Noise ? 'within' : 'OUTSIDE'} fp32 noise)`}`);
  }
  const report = {
    date: new Date().toISOString(),
    onnxruntimeWeb: ort.env.versions?.web,
    executionProvider: 'wasm',
    threads: 1,
    tolerance: { gradientMaxAbsDiffRelativeToMaxAbsGradient: GRAD_TOLERANCE },
    totalSeconds: totalS,
    passed: rows.length - failed.length,
    failed: failed.length,
    withinFp32Noise: rows.length - outsideNoise.length,
    outsideFp32Noise: outsideNoise.length,
    exitStatusFollows: noiseAware ? 'fp32 noise' : 'issue criterion',
    rows,
  };
  const reportPath = path.join(dir, 'report.json');
  writeFileSync(reportPath, JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1));
  console.log(`wrote ${reportPath}`);
  process.exit((noiseAware ? outsideNoise : failed).length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
