/**
 * The browser benchmark runner (bench/browser.ts) end to end: its --quick matrix in headless
 * Chromium (WebGPU on SwiftShader), written to a temporary folder. Checks the JSON report (every
 * case, positive images/second, per-kernel GPU times, the adapter) and the HTML report.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './helpers/browser';
import { benchInput, fillBenchImage, parseLayerShape, sliceBatch } from '../src/demo/bench-data';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

interface Report {
  status: string;
  adapter: string;
  backend: string;
  timestampQuery: boolean;
  config: { methods: string[]; shapes: string[]; batches: number[] };
  cases: {
    method: string;
    layer: string;
    batch: number;
    ok: boolean;
    error?: string;
    gpu: { perImageMs: number; imagesPerSecond: number; runs: number };
    kernels: Record<string, { batchMs: number; perImageMs: number }>;
    kernelsPerImageMs: number;
    cpu: { perImageMs: number } | { skipped: string };
    maxAbsDiffVsCpu?: number;
    cfcam?: { clusters: number };
  }[];
}

describe('synthetic benchmark layers (src/demo/bench-data.ts)', () => {
  it('are deterministic, and a smaller batch is the start of a bigger one', () => {
    const shape = parseLayerShape('96x7x7');
    const a = benchInput(shape, 3);
    const b = benchInput(shape, 3);
    expect(a.activations).toEqual(b.activations);
    expect(a.gradients).toEqual(b.gradients);
    const one = benchInput(shape, 1);
    expect(sliceBatch(a, 1).activations).toEqual(one.activations);
    const act = new Float32Array(96 * 49);
    const grad = new Float32Array(96 * 49);
    fillBenchImage(shape, 2, act, grad);
    expect(act).toEqual(a.activations.subarray(2 * 96 * 49));
    expect(parseLayerShape('2048x7x7')).toEqual({ channels: 2048, height: 7, width: 7 });
    expect(() => parseLayerShape('7x7')).not.toThrow();
    expect(() => parseLayerShape('axbxc')).toThrow(/CxHxW/);
  });

  it('give CF-CAM several clusters and some noise channels', () => {
    for (const text of ['256x7x7', '128x14x14']) {
      const run = computeCamCpu('cfcam', benchInput(parseLayerShape(text), 1));
      expect(run.cfcam!.clusters[0]).toBeGreaterThanOrEqual(3);
      expect(run.cfcam!.noise[0]).toBeGreaterThan(0);
    }
  });
});

describe('npm run bench:browser --quick (headless Chromium, WebGPU)', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('rejects bad options with a one-line message', () => {
    const r = spawnSync(process.execPath, [TSX, 'bench/browser.ts', '--methods', 'nope'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown method 'nope'/);
    const scored = spawnSync(process.execPath, [TSX, 'bench/browser.ts', '--methods', 'scorecam'], { cwd: ROOT, encoding: 'utf8' });
    expect(scored.status).toBe(2);
    expect(scored.stderr).toMatch(/scorecam need a model.*--model/);
  });

  it('runs the quick matrix and writes the JSON and HTML reports', () => {
    const r = spawnSync(
      process.execPath,
      [TSX, 'bench/browser.ts', '--quick', '--batches', '1,2', '--out', out, '--chrome', CHROMIUM],
      { cwd: ROOT, encoding: 'utf8', timeout: 100_000 },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const files = readdirSync(out);
    expect(files).toContain('browser-latest.json');
    expect(files).toContain('browser-latest.html');
    expect(files.some((f) => /^browser-\d{4}-\d\d-\d\dT.*\.json$/.test(f))).toBe(true);

    const report = JSON.parse(readFileSync(path.join(out, 'browser-latest.json'), 'utf8')) as Report;
    expect(report.status).toBe('done');
    expect(report.backend).toBe('gpu');
    expect(typeof report.adapter).toBe('string');
    expect(report.adapter.length).toBeGreaterThan(0);
    const expected = report.config.methods.flatMap((m) => report.config.shapes.flatMap((s) => report.config.batches.map((b) => `${m} ${s} ${b}`)));
    expect(report.config.methods.sort()).toEqual(['cfcam', 'gradcam']);
    expect(report.config.batches).toEqual([1, 2]);
    expect(report.cases.map((c) => `${c.method} ${c.layer} ${c.batch}`).sort()).toEqual(expected.sort());
    for (const c of report.cases) {
      expect(c.ok, c.error).toBe(true);
      expect(c.gpu.imagesPerSecond).toBeGreaterThan(0);
      expect(c.gpu.perImageMs).toBeGreaterThan(0);
      if (report.timestampQuery) {
        const names = Object.keys(c.kernels);
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) expect(name).toMatch(/^[^/]+\/[a-z_]+$/); // 'stage/kernel'
        expect(c.kernelsPerImageMs).toBeGreaterThan(0);
      }
      expect('perImageMs' in c.cpu && c.cpu.perImageMs > 0).toBe(true);
      expect(c.maxAbsDiffVsCpu).toBeLessThanOrEqual(1e-4);
    }
    expect(report.cases.find((c) => c.method === 'cfcam')!.cfcam!.clusters).toBeGreaterThan(0);

    const html = readFileSync(path.join(out, 'browser-latest.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain(report.adapter.replace(/&/g, '&amp;'));
    expect((html.match(/<rect /g) ?? []).length).toBe(report.cases.length);
  });

  it('--model: ORT forward (gradient graph) + CAM per image on a small ONNX model', () => {
    const modelOut = path.join(out, 'model');
    const r = spawnSync(
      process.execPath,
      [TSX, 'bench/browser.ts', '--model', 'test/fixtures/gradients/resnetish/model.onnx', '--methods', 'gradcam,cfcam,scorecam,cluscam', '--runs', '1', '--warmup', '0', '--out', modelOut],
      { cwd: ROOT, encoding: 'utf8', timeout: 200_000 },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(path.join(modelOut, 'browser-latest.json'), 'utf8')) as Report & {
      model: { target: string; activationsShape: number[]; ortBackend: string; forwardMs: number };
      cases: { kind: string; model: { forwardMs: number; camMs: number } }[];
    };
    expect(report.status).toBe('done');
    expect(report.model.ortBackend).toBe('webgpu');
    expect(report.model.activationsShape).toHaveLength(4);
    expect(report.model.forwardMs).toBeGreaterThan(0);
    expect(report.cases.map((c) => c.method).sort()).toEqual(['cfcam', 'cluscam', 'gradcam', 'scorecam']);
    for (const c of report.cases) {
      expect(c.ok, c.error).toBe(true);
      expect(c.kind).toBe('model');
      expect(c.gpu.imagesPerSecond).toBeGreaterThan(0);
      expect(c.model.camMs).toBeGreaterThan(0);
      if (c.method === 'scorecam' || c.method === 'cluscam') {
        // The whole pipeline per image: pre-processing, the model, the method (masked forwards included).
        expect(c.gpu.perImageMs).toBeGreaterThanOrEqual(c.model.forwardMs + c.model.camMs);
      } else {
        expect(c.gpu.perImageMs).toBeCloseTo(c.model.forwardMs + c.model.camMs, 3);
      }
    }
    expect(readFileSync(path.join(modelOut, 'browser-latest.html'), 'utf8')).toContain('<svg');
  });
});
