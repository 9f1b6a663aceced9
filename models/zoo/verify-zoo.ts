/**
 * The whole model zoo against torch autograd and a NumPy Grad-CAM (issue 9, item 6).
 *
 *   /usr/bin/python3 models/zoo/export_zoo.py [models/zoo/out]
 *   node --import tsx --import ./scripts/wgsl-raw.mjs models/zoo/verify-zoo.ts [models/zoo/out] [--models a,b] [--variants static17,dynamic] [--gpu] [--markdown FILE]
 *
 * Per architecture x variant (models/zoo/zoo-check.ts): rewrite with buildGradientModel, one run
 * with ONNX Runtime Web's wasm EP (1 thread), gradients against torch (relative 1e-4, or within
 * 2x torch's own float32 noise against float64), the engine's Grad-CAM (CPU reference; the GPU
 * engine with --gpu) against NumPy's within 1e-3. Prints the table (markdown), writes
 * <dir>/report.json and, with --markdown, the table to FILE; exits 1 when any cell fails.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { createCamEngine } from '../../src/engine/engine';
import { nodeGpu, swiftshaderEnvironment } from '../../src/engine/gpu/node';
import { checkZooVariant, targetView, type ZooModel, type ZooResult } from './zoo-check';

const VARIANTS = ['static17', 'dynamic', 'softmax', 'opset13', 'opset11'];

function parseArgs(argv: string[]) {
  let dir = process.env.WEBGPU_CAM_ZOO ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
  let models: Set<string> | null = null;
  let variants = VARIANTS;
  let gpu = false;
  let markdown: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--models') models = new Set(argv[++i].split(','));
    else if (a === '--variants') variants = argv[++i].split(',');
    else if (a === '--gpu') gpu = true;
    else if (a === '--markdown') markdown = argv[++i];
    else dir = a;
  }
  return { dir: path.resolve(dir), models, variants, gpu, markdown };
}

const fmt = (x: number | undefined) => (x === undefined ? '' : Number.isFinite(x) ? x.toExponential(1) : String(x));

function cell(r: ZooResult): string {
  if (r.error && r.gradRel === undefined) return `error: ${r.error.replace(/\|/g, '/')}`;
  const verdict = r.pass ? (r.withinNoise ? 'pass†' : 'pass') : 'FAIL';
  return `${verdict} ${fmt(r.gradRel)} / ${fmt(r.mapMaxAbs)}${r.error ? ` (${r.error.replace(/\|/g, '/')})` : ''}`;
}

async function main() {
  const { dir, models, variants, gpu, markdown } = parseArgs(process.argv.slice(2));
  ort.env.wasm.numThreads = 1;
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { models: ZooModel[]; torch: string; torchvision: string };
  // --gpu: Dawn in this process, on Chromium's SwiftShader when no GPU driver is set (as the tests do).
  if (gpu) Object.assign(process.env, swiftshaderEnvironment() ?? {});
  const engine = await createCamEngine(gpu ? { gpu: await nodeGpu() } : { backend: 'cpu' });
  const results: (ZooResult & { key: string })[] = [];
  const started = performance.now();
  const keys = new Set<string>(['default']);
  for (const m of manifest.models) {
    if (models && !models.has(m.name)) continue;
    const views: [string, ZooModel][] = [['default', m], ...(m.extraTargets ?? []).map((t): [string, ZooModel] => [t.key, targetView(m, t.key)])];
    for (const [key, view] of views) {
      keys.add(key);
      for (const v of variants) {
        const r = { ...(await checkZooVariant(dir, view, v, engine)), key };
        results.push(r);
        console.error(`${m.name} ${key} ${v}: ${cell(r)} [${r.reshape ?? ''} ${r.grid ? `[${r.grid}]` : ''}] ${r.ms} ms`);
      }
    }
  }
  engine.dispose();
  const totalS = ((performance.now() - started) / 1000).toFixed(0);
  const tables = [...keys].map((key) => {
    const mine = results.filter((r) => r.key === key);
    const rows = [...new Set(mine.map((r) => r.model))].map((name) => {
      const base = manifest.models.find((x) => x.name === name)!;
      const m = key === 'default' ? base : targetView(base, key);
      const first = mine.find((r) => r.model === name && r.grid);
      const layer = `${m.module} [${m.activationsShape}]${first && first.reshape !== 'none' ? ` → ${first.reshape} [${first.grid}]` : ''}`;
      const noise = `${fmt(Math.max(m.torch32VsTorch64, m.perturbGrad ?? 0))} / ${fmt(m.perturbMap)}`;
      return `| ${name} | ${m.size} | ${layer} | ${noise} | ${variants.map((v) => cell(mine.find((r) => r.model === name && r.variant === v)!)).join(' | ')} |`;
    });
    return [
      `Target: ${key === 'default' ? 'the default layer (the last feature block)' : `'${key}' (an earlier block, export_zoo.py MID_TARGETS)`}`,
      '',
      `| architecture | input | target layer (→ transform, grid) | fp32 noise grad / map | ${variants.join(' | ')} |`,
      `|---|---|---|---|${variants.map(() => '---').join('|')}|`,
      ...rows,
    ].join('\n');
  });
  const table = tables.join('\n\n');
  const passed = results.filter((r) => r.pass).length;
  const strict = results.filter((r) => r.pass && !r.withinNoise).length;
  const summary = `${passed}/${results.length} pass (${strict} within 1e-4 / 1e-3, ${passed - strict} only within float32 noise, marked †); torch ${manifest.torch}, torchvision ${manifest.torchvision}, onnxruntime-web ${ort.env.versions.web ?? ''}, Grad-CAM on the ${gpu ? 'GPU engine' : 'CPU reference'}; ${totalS} s`;
  console.log(table);
  console.log(`\n${summary}`);
  writeFileSync(path.join(dir, 'report.json'), JSON.stringify({ summary, results }, null, 1));
  if (markdown) writeFileSync(markdown, `${table}\n\n${summary}\n`);
  process.exitCode = passed === results.length ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
