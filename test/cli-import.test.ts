/**
 * `webgpu-cam explain` on models from other exporters (issue 9), as a child process: the
 * Paddle2ONNX-style MobileNetV3 (dynamic batch/H/W, Softmax head, opset 11) lists its layers and
 * explains its bundled sample, and its Grad-CAM equals the one `webgpu-cam cam` computes from
 * torch's own activations and gradients; NHWC input, several outputs and the typed errors.
 * Fixtures: models/gradients/make_import_fixtures.py. `npm test` builds dist/node/cli.js first.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../src/engine/io/npy';
import { maxAbsDiff } from './helpers/golden';
import { tinyModel } from './helpers/onnx-models';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = path.join(ROOT, 'bin', 'webgpu-cam.js');
const BUNDLE = path.join(ROOT, 'dist', 'node', 'cli.js');
const FIXTURES = path.join(ROOT, 'test/fixtures/gradients/import');
const PADDLE = path.join(FIXTURES, 'paddle-mobilenetv3');
const MODEL = path.join(PADDLE, 'model.onnx');
const SAMPLE = path.join(PADDLE, 'sample.png');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectSuccess(r: CliResult): void {
  expect(r.code, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
}

const readNpy = (file: string) => parseNpy(new Uint8Array(readFileSync(file)), file);
const target = (stem: string) => JSON.parse(readFileSync(path.join(PADDLE, `${stem}.json`), 'utf8')) as { target: string; classIndex: number[] };

let tmp: string;
beforeAll(() => {
  if (!existsSync(BUNDLE)) throw new Error(`${path.relative(ROOT, BUNDLE)} is missing: run \`npm run build\` first (\`npm test\` does)`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-import-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('explain on a Paddle2ONNX-style MobileNetV3 (dynamic dims, Softmax head)', () => {
  it('--list-layers lists layers and says which input size it assumed', async () => {
    const r = await runCli(['explain', '--model', MODEL, '--list-layers']);
    expectSuccess(r);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^# input height\/width are dynamic: shapes at 224x224 \(assumed; set it with --input-size HxW\)$/);
    expect(lines.length).toBeGreaterThan(10);
    expect(r.stdout).toContain(`${target('last_act').target}  Div  [1,32,56,56]`);
    const sized = await runCli(['explain', '--model', MODEL, '--list-layers', '--input-size', '32x96', '--json']);
    expectSuccess(sized);
    expect(sized.stderr).toMatch(/shapes at 32x96 \(from --input-size\)/);
    const layers = JSON.parse(sized.stdout) as { name: string; shape: number[] }[];
    expect(layers.find((l) => l.name === target('last_act').target)?.shape).toEqual([1, 32, 8, 24]);
  });

  for (const [explain, stem, backend] of [
    ['logits', 'last_act', 'gpu'],
    ['probability', 'last_act_probability', 'cpu'],
  ] as const) {
    it(`explains the sample (${explain}, ${backend}) with the Grad-CAM of torch's activations and gradients`, async () => {
      const t = target(stem);
      const heatmap = path.join(tmp, `${stem}-explain.npy`);
      const r = await runCli(['explain', '--model', MODEL, '--image', SAMPLE, '--layer', t.target, '--method', 'gradcam', '--explain', explain, '--backend', backend, '--heatmap', heatmap, '--json']);
      expectSuccess(r);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ output: 'softmax_0.tmp_0', head: 'softmax', explained: explain, classIndex: t.classIndex[0], className: String(t.classIndex[0] * 180) });
      expect(report.input).toMatchObject({ name: 'x', shape: [1, 3, 32, 96], sizeSource: 'image', dynamic: ['batch', 'height', 'width'], layout: 'nchw', opset: { exported: 11, now: 16 } });
      // The probabilities are the model's own Softmax output (torch: 0.7018 / 0.2982).
      expect(report.top5[0].probability).toBeCloseTo(0.70177, 4);
      // Torch's tensors through the `cam` command give the same map.
      const reference = path.join(tmp, `${stem}-torch.npy`);
      const cam = await runCli(['cam', '--method', 'gradcam', '--activations', path.join(PADDLE, `${stem}.activations.npy`), '--gradients', path.join(PADDLE, `${stem}.gradients.npy`), '--size', '32x96', '--backend', backend, '--out', reference]);
      expectSuccess(cam);
      const got = readNpy(heatmap).data as Float32Array;
      const want = readNpy(reference).data as Float32Array;
      expect(got.length).toBe(32 * 96);
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-4);
      expect(Math.max(...got)).toBeCloseTo(1, 5);
    });
  }

  it('the text summary says which input size, output and score were used', async () => {
    const r = await runCli(['explain', '--model', MODEL, '--image', SAMPLE, '--method', 'gradcam', '--backend', 'cpu', '--input-size', '48x192']);
    expectSuccess(r);
    expect(r.stdout).toMatch(/input x \[1,3,48,192\] NCHW \(detected\), size from --input-size; dynamic batch\/height\/width .* output softmax_0\.tmp_0 ends in softmax: explaining the pre-activation logits/);
  });
});

describe('explain: NHWC input, several outputs, errors', () => {
  const NHWC = path.join(FIXTURES, 'nhwc-opset13/model.onnx');

  it('detects an NHWC input and reads the first 2-D float output; --output picks another', async () => {
    const r = await runCli(['explain', '--model', NHWC, '--image', SAMPLE, '--method', 'gradcam', '--backend', 'cpu', '--json']);
    expectSuccess(r);
    expect(JSON.parse(r.stdout)).toMatchObject({ output: 'probs', head: 'softmax', input: { layout: 'nhwc', layoutSource: 'detected', shape: [1, 3, 10, 10], sizeSource: 'model' } });
    const e = await runCli(['explain', '--model', NHWC, '--image', SAMPLE, '--method', 'gradcam', '--backend', 'cpu', '--output', 'embedding', '--json']);
    expectSuccess(e);
    const report = JSON.parse(e.stdout);
    expect(report).toMatchObject({ output: 'embedding', head: null });
    expect(report.top5).toHaveLength(5);
  });

  it('no candidate layer is a one-line typed error with the reason, exit 2', async () => {
    const file = path.join(tmp, 'one-pixel.onnx');
    writeFileSync(file, tinyModel('Relu', { size: 1 }));
    const r = await runCli(['explain', '--model', file, '--list-layers']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^webgpu-cam: no candidate layer: every 4-D map .* is 1x1 at this input size/);
  });

  it('bad sizes and probability with a gradient-free method are usage errors', async () => {
    const fixed = await runCli(['explain', '--model', NHWC, '--list-layers', '--input-size', '32x32']);
    expect(fixed.code).toBe(2);
    expect(fixed.stderr).toMatch(/input size 32x32 does not fit input 'input' \[unk__0,10,10,3\]: its fixed height\/width is 10x10/);
    const bad = await runCli(['explain', '--model', MODEL, '--list-layers', '--input-size', '32by96']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--input-size must be HxW/);
    const prob = await runCli(['explain', '--model', MODEL, '--image', SAMPLE, '--method', 'scorecam', '--explain', 'probability']);
    expect(prob.code).toBe(2);
    expect(prob.stderr).toMatch(/--explain probability applies to gradient methods; scorecam uses no gradients/);
  });
});
