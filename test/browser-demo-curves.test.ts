/**
 * The demo's deletion / insertion curve button (headless Chromium, WebGPU on SwiftShader): the
 * SVG appears with both curves, and the curves equal Node's metrics module on the same map and
 * image (ORT wasm in Node, the CPU perturber).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCamEngine } from '../src/engine/engine';
import { ModelExplainer } from '../src/engine/model/explainer';
import { decodeImage } from '../src/engine/model/image-io';
import { readModelMetadata } from '../src/engine/model/metadata';
import { deletionInsertion, metricContext, metricImage } from '../src/engine/metrics/index';
import { useDemoBrowser } from './helpers/browser';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL_DIR = path.join(ROOT, 'models/digits');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

interface Curves {
  method: string;
  classIndex: number;
  deletion: number[];
  insertion: number[];
  deletionAuc: number;
  insertionAuc: number;
}

let node: ModelExplainer;
let engine: Awaited<ReturnType<typeof createCamEngine>>;
beforeAll(async () => {
  ort.env.wasm.numThreads = 1;
  engine = await createCamEngine({ backend: 'cpu' });
  node = await ModelExplainer.create({
    model: new Uint8Array(readFileSync(path.join(MODEL_DIR, 'digits-resnet.onnx'))),
    metadata: readModelMetadata(path.join(MODEL_DIR, 'model.json')),
    engine,
    ort,
    numThreads: 1,
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await node?.dispose();
});

describe('the demo: deletion / insertion curve on request', () => {
  const chromium = useDemoBrowser();

  it('draws both curves of the first view and equals Node on the same map', async () => {
    const page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(chromium.url);
    await page.waitForFunction(() => Number(document.body.dataset.explained ?? 0) >= 1 || document.body.dataset.ready === 'error', { timeout: 240_000 });
    expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
    expect(await page.$$eval('#curve-result svg', (s) => s.length)).toBe(0);
    await page.click('#curves');
    await page.waitForFunction(() => document.querySelector('#curve-result svg') !== null || document.body.dataset.ready === 'error', { timeout: 240_000 });
    expect(await page.$$eval('#curve-result svg path', (p) => p.length)).toBe(2);
    const curves = (await page.evaluate(() => (window as unknown as { __webgpuCamCurves: unknown }).__webgpuCamCurves)) as Curves;
    const demo = (await page.evaluate(() => (window as unknown as { __webgpuCam: { results: { map: number[] }[] } }).__webgpuCam.results[0].map)) as number[];
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo-curves.png') });
    await page.close();

    expect(curves.deletion).toHaveLength(101);
    const image = decodeImage(new Uint8Array(readFileSync(path.join(MODEL_DIR, 'samples/sample-0.png'))));
    const expected = await deletionInsertion(metricContext(node, engine), metricImage(node, image, curves.classIndex), Float32Array.from(demo));
    const worst = (a: number[], b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    expect(worst(curves.deletion, expected.deletion.curve)).toBeLessThan(1e-3);
    expect(worst(curves.insertion, expected.insertion.curve)).toBeLessThan(1e-3);
    expect(Math.abs(curves.deletionAuc - expected.deletion.auc)).toBeLessThan(1e-4 + 1e-3);
    // A faithful map: removing its top pixels hurts more than revealing them from nothing helps.
    expect(curves.deletionAuc).toBeLessThan(curves.insertionAuc);
  }, 600_000);
});
