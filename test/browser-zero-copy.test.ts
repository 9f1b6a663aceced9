/**
 * The zero-copy path in headless Chromium (WebGPU on SwiftShader): ORT's WebGPU EP runs the
 * gradient model on our device and the CAM kernels bind ORT's own output buffers
 * (src/demo/zero-copy.ts). The maps and logits are checked against Node: the same gradient model
 * on ORT's wasm EP, then the CPU reference.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import type { Browser } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser';
import { parseNpy } from '../src/engine/io/npy';
import { listCandidateLayers } from '../src/engine/model/candidates';
import { buildGradientModel } from '../src/engine/model/gradient-graph';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import type { CamMethod } from '../src/engine/methods/registry';

const FIXTURES = join(__dirname, 'fixtures', 'gradients', 'resnetish');
const METHODS: CamMethod[] = ['cfcam', 'gradcam'];

interface PageRun {
  method: string;
  map: number[];
  mapHeight: number;
  mapWidth: number;
  logits: number[];
  topClass: number;
  layer: string;
  activationsShape: number[];
  backend: string;
  sharesDevice: boolean | undefined;
  uploads: number;
  activationsBound: boolean;
  gradientsBound: boolean;
  boundCount: number;
  ortSizes: { activations: { size: number; bufferSize: number }; gradients: { size: number; bufferSize: number } };
  ms: number;
}

/**
 * Runs in the page (plain JS, sent as a string: vitest rewrites import() inside test code).
 * ORT's WebGPU build and our module are loaded from the working tree through Vite's /@fs/.
 * GPUBuffers cannot leave the page, so identity (===) is compared here.
 */
const PAGE_RUN = String.raw`async (root, methods, modelBytes, inputValues) => {
  try {
    const ort = await import('/@fs' + root + '/node_modules/onnxruntime-web/dist/ort.webgpu.min.mjs');
    ort.env.wasm.wasmPaths = '/@fs' + root + '/node_modules/onnxruntime-web/dist/';
    ort.env.wasm.numThreads = 1;
    const { explainOnGpu } = await import('/@fs' + root + '/src/demo/zero-copy.ts');
    const model = new Uint8Array(modelBytes);
    const input = new Float32Array(inputValues);
    const runs = [];
    for (const method of methods) {
      const started = performance.now();
      const r = await explainOnGpu(ort, model, input, { method });
      runs.push({
        method,
        map: Array.from(r.map),
        mapHeight: r.mapHeight,
        mapWidth: r.mapWidth,
        logits: Array.from(r.logits),
        topClass: r.topClass,
        layer: r.layer,
        activationsShape: r.activationsShape,
        backend: r.backend,
        sharesDevice: r.sharesDevice,
        uploads: r.uploads,
        activationsBound: r.boundBuffers.some((b) => b === r.ortBuffers.activations),
        gradientsBound: r.boundBuffers.some((b) => b === r.ortBuffers.gradients),
        boundCount: r.boundBuffers.length,
        ortSizes: r.ortSizes,
        ms: performance.now() - started,
      });
    }
    return { runs };
  } catch (error) {
    return { error: String(error) + '\n' + (error && error.stack) };
  }
}`;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('zero-copy: ORT WebGPU EP outputs bound directly by the CAM kernels (headless Chromium)', () => {
  let browser: Browser;
  let server: ViteDevServer;
  let url: string;
  beforeAll(async () => {
    // The demo's Vite config plus the page's bare imports pre-bundled up front, in a cache of
    // its own: discovered later, they make Vite re-optimize and reload the page mid-evaluate
    // (seen: "optimized dependencies changed. reloading", then the evaluate never settles).
    server = await createServer({
      configFile: 'vite.config.ts',
      logLevel: 'error',
      cacheDir: join(tmpdir(), 'webgpu-cam-vite-zero-copy'),
      optimizeDeps: { include: ['onnx-proto', 'onnxruntime-web/webgpu', 'wgsl-preprocessor/wgsl-preprocessor.js'] },
      server: { host: '127.0.0.1', port: 0 },
    });
    await server.listen();
    url = server.resolvedUrls!.local[0];
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('binds ORT buffers (no uploads) and matches the wasm EP + CPU reference for cfcam and gradcam', async () => {
    const modelBytes = new Uint8Array(readFileSync(join(FIXTURES, 'model.onnx')));
    const input = parseNpy(new Uint8Array(readFileSync(join(FIXTURES, 'input.npy'))), 'input.npy');
    expect(input.shape).toEqual([1, 3, 32, 32]);

    const page = await browser.newPage();
    let result: { runs?: PageRun[]; error?: string };
    try {
      await page.goto(url);
      // A reload would leave the evaluate pending forever: fail fast instead.
      const reloaded = new Promise<never>((_, reject) =>
        page.on('framenavigated', (frame) => {
          if (frame === page.mainFrame()) reject(new Error('the page reloaded during the run (Vite re-optimized its dependencies?)'));
        }),
      );
      const args = [process.cwd(), METHODS, Array.from(modelBytes), Array.from(input.data as Float32Array)].map((a) => JSON.stringify(a));
      result = (await Promise.race([page.evaluate(`(${PAGE_RUN})(${args.join(', ')})`), reloaded])) as typeof result;
    } finally {
      await page.close();
    }
    expect(result.error).toBeUndefined();
    const runs = result.runs!;
    expect(runs.map((r) => r.method)).toEqual(METHODS);

    // Node: the same gradient model (same layer, class -1 = top-1) on the wasm EP.
    const layer = listCandidateLayers(modelBytes)[0].name;
    const gm = buildGradientModel(modelBytes, { target: layer });
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(gm.bytes, { executionProviders: ['wasm'] });
    let logits: Float32Array;
    let activations: Float32Array;
    let gradients: Float32Array;
    try {
      const out = await session.run({
        [gm.inputName]: new ort.Tensor('float32', input.data as Float32Array, gm.inputShape),
        [gm.classInputName]: new ort.Tensor('int64', BigInt64Array.from([-1n]), [1]),
      });
      logits = Float32Array.from(out[gm.outputs.logits].data as Float32Array);
      activations = Float32Array.from(out[gm.outputs.activations].data as Float32Array);
      gradients = Float32Array.from(out[gm.outputs.gradients].data as Float32Array);
    } finally {
      await session.release();
    }
    const [batch, channels, height, width] = gm.activationsShape;
    const shape = { batch, channels, height, width, outHeight: gm.inputShape[2], outWidth: gm.inputShape[3] };
    let nodeTop = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[nodeTop]) nodeTop = i;
    const logitScale = Math.max(...Array.from(logits, Math.abs));

    const exactBytes = activations.length * 4;
    for (const run of runs) {
      // Zero-copy: ORT ran on our device and our kernels bound its buffers, nothing uploaded.
      expect(run.backend).toBe('webgpu');
      expect(run.sharesDevice).toBe(true);
      expect(run.uploads).toBe(0);
      expect(run.activationsBound).toBe(true);
      expect(run.gradientsBound).toBe(true);
      expect(run.ortSizes.activations.size).toBe(exactBytes);
      expect(run.ortSizes.gradients.size).toBe(exactBytes);
      expect(run.ortSizes.activations.bufferSize).toBeGreaterThanOrEqual(exactBytes);
      expect(run.ortSizes.gradients.bufferSize).toBeGreaterThanOrEqual(exactBytes);

      expect(run.layer).toBe(layer);
      expect(run.activationsShape).toEqual(gm.activationsShape);
      expect(run.topClass).toBe(nodeTop);
      expect(maxAbsDiff(run.logits, logits) / logitScale).toBeLessThanOrEqual(1e-4);

      const cpu = computeCamCpu(run.method as CamMethod, { shape, activations, gradients });
      expect([run.mapHeight, run.mapWidth]).toEqual([shape.outHeight, shape.outWidth]);
      const mapDiff = maxAbsDiff(run.map, cpu.maps);
      console.info(`zero-copy ${run.method}: class ${run.topClass}, map max |diff| ${mapDiff.toExponential(2)}, logits max rel diff ${(maxAbsDiff(run.logits, logits) / logitScale).toExponential(2)}`);
      expect(mapDiff).toBeLessThanOrEqual(1e-4);
      expect(Math.max(...run.map)).toBeCloseTo(1, 5);
    }
    // For the record: page time per method, buffers bound, ORT's exact vs allocated sizes.
    console.info(
      `zero-copy: ${JSON.stringify(runs.map((r) => ({ method: r.method, ms: Math.round(r.ms), bound: r.boundCount, sizes: r.ortSizes })))}`,
    );
  }, 120_000);
});
