/**
 * End to end in headless Chromium (WebGPU on SwiftShader): the demo page and the embedding
 * example, compared with the same explanation computed in Node (ONNX Runtime's wasm EP + the
 * CPU reference). Screenshots go to test-artifacts/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCamEngine } from '../src/engine/engine';
import { listCandidateLayers } from '../src/engine/model/candidates';
import { ModelExplainer } from '../src/engine/model/explainer';
import { decodeImage } from '../src/engine/model/image-io';
import { parseNpy } from '../src/engine/io/npy';
import { readModelMetadata } from '../src/engine/model/metadata';
import type { RgbaImage } from '../src/engine/display/overlay';
import type { CamMethod } from '../src/engine/methods/registry';
import { useDemoBrowser, WEBGPU_FLAGS } from './helpers/browser';
import { maxAbsDiff } from './helpers/golden';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL_DIR = path.join(ROOT, 'models/digits');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const sample = (i: number): RgbaImage => decodeImage(new Uint8Array(readFileSync(path.join(MODEL_DIR, `samples/sample-${i}.png`))));

interface DemoResult {
  method: CamMethod;
  classIndex: number;
  top5: number[];
  width: number;
  height: number;
  map: number[];
  signedMap?: number[];
}
interface DemoState {
  backend: string;
  adapter: string;
  layer: string;
  explained: number;
  results: DemoResult[];
}

let node: ModelExplainer;
beforeAll(async () => {
  ort.env.wasm.numThreads = 1;
  node = await ModelExplainer.create({
    model: new Uint8Array(readFileSync(path.join(MODEL_DIR, 'digits-resnet.onnx'))),
    metadata: readModelMetadata(path.join(MODEL_DIR, 'model.json')),
    engine: await createCamEngine({ backend: 'cpu' }),
    ort,
    numThreads: 1,
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await node?.dispose();
});

const demoState = (page: Page) => page.evaluate(() => (window as unknown as { __webgpuCam: unknown }).__webgpuCam) as Promise<DemoState>;

/** Wait until the demo has finished `count` explanation rounds. */
async function waitExplained(page: Page, count: number): Promise<DemoState> {
  await page.waitForFunction((n) => Number(document.body.dataset.explained ?? 0) >= n || document.body.dataset.ready === 'error', { timeout: 240_000 }, count);
  const status = await page.$eval('#status', (el) => el.textContent ?? '');
  expect(await page.evaluate(() => document.body.dataset.ready), status).not.toBe('error');
  return demoState(page);
}

async function expectEqualToNode(result: DemoResult, image: RgbaImage): Promise<void> {
  const expected = await node.explain(image, { method: result.method, classIndex: result.classIndex });
  expect(result.top5).toEqual(expected.top5.map((c) => c.index));
  expect([result.height, result.width]).toEqual([expected.height, expected.width]);
  expect(maxAbsDiff(result.map, expected.map)).toBeLessThanOrEqual(1e-4);
}

describe('the demo page', () => {
  const chromium = useDemoBrowser();

  it('explains the first sample on WebGPU with CF-CAM and Grad-CAM side by side, equal to Node', async () => {
    const page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(chromium.url);
    const state = await waitExplained(page, 1);
    expect(state.backend).toBe('gpu');
    expect(state.results.map((r) => r.method)).toEqual(['cfcam', 'gradcam']);
    expect(await page.$$eval('#views figure', (f) => f.length)).toBe(2);
    for (const result of state.results) await expectEqualToNode(result, sample(0));
    // The class picker lists the top-5 predictions after "top-1".
    const options = await page.$$eval('#class option', (o) => o.map((x) => (x as HTMLOptionElement).value));
    expect(options.slice(1)).toEqual(state.results[0].top5.map(String));
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo.png') });
    await page.close();
  });

  it('follows the pickers: another sample, three methods, a chosen class, another colour map', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(chromium.url);
    let state = await waitExplained(page, 1);
    await page.click('#samples img:nth-child(3)');
    state = await waitExplained(page, 2);
    await page.click('#methods input[value="eigencam"]');
    state = await waitExplained(page, 3);
    expect(state.results.map((r) => r.method)).toEqual(['cfcam', 'gradcam', 'eigencam']);
    const second = state.results[0].top5[1];
    await page.select('#class', String(second));
    state = await waitExplained(page, 4);
    for (const result of state.results) {
      expect(result.classIndex).toBe(second);
      await expectEqualToNode(result, sample(2));
    }
    // Colour map, opacity and threshold redraw without explaining again.
    const before = await page.$eval('#views canvas', (c) => (c as HTMLCanvasElement).toDataURL());
    await page.select('#colormap', 'viridis');
    const after = await page.$eval('#views canvas', (c) => (c as HTMLCanvasElement).toDataURL());
    expect(after).not.toBe(before);
    expect((await demoState(page)).explained).toBe(4);
    await page.close();
  });

  it('runs the Soft-CAM model: its evidence map, signed, equals Node\'s', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(chromium.url);
    await waitExplained(page, 1);
    const softcamBox = '#methods input[value="softcam"]';
    expect(await page.$eval(softcamBox, (i) => (i as HTMLInputElement).disabled)).toBe(true); // no evidence map in the standard model
    await page.select('#model', 'softcam');
    await waitExplained(page, 2);
    expect(await page.$eval(softcamBox, (i) => (i as HTMLInputElement).disabled)).toBe(false);
    await page.click(softcamBox);
    const state = await waitExplained(page, 3);
    expect(state.layer).toBe('evidence');
    const softcam = state.results.find((r) => r.method === 'softcam')!;
    expect(softcam).toBeDefined();
    const dir = path.join(ROOT, 'models/softcam');
    const explainer = await ModelExplainer.create({
      model: new Uint8Array(readFileSync(path.join(dir, 'softcam-digits.onnx'))),
      metadata: readModelMetadata(path.join(dir, 'model.json')),
      engine: await createCamEngine({ backend: 'cpu' }),
      ort,
      numThreads: 1,
    });
    try {
      const expected = await explainer.explain(sample(0), { method: 'softcam' });
      expect(softcam.classIndex).toBe(expected.classIndex);
      expect(maxAbsDiff(softcam.map, expected.map)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(softcam.signedMap!, expected.signedMap!)).toBeLessThanOrEqual(1e-4);
      expect(Math.min(...softcam.signedMap!)).toBeLessThan(0); // evidence against the class is kept
    } finally {
      await explainer.dispose();
    }
    const before = await page.$eval('#views figure[data-method="softcam"] canvas', (c) => (c as HTMLCanvasElement).toDataURL());
    await page.click('#signed');
    const after = await page.$eval('#views figure[data-method="softcam"] canvas', (c) => (c as HTMLCanvasElement).toDataURL());
    expect(after).not.toBe(before);
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo-softcam.png') });
    await page.close();
  });

  it('exports the first view as a PNG overlay and its map as .npy', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(chromium.url);
    const state = await waitExplained(page, 1);
    // Record downloads instead of saving them: the anchor's name and the blob's bytes.
    await page.evaluate(() => {
      const w = window as unknown as { __downloads: Promise<{ name: string; bytes: number[] }>[] };
      w.__downloads = [];
      HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
        const { download, href } = this;
        w.__downloads.push(fetch(href).then(async (r) => ({ name: download, bytes: Array.from(new Uint8Array(await r.arrayBuffer())) })));
      };
    });
    await page.click('#export-npy');
    await page.click('#export-png');
    await page.waitForFunction(() => (window as unknown as { __downloads: unknown[] }).__downloads.length === 2);
    const downloads = (await page.evaluate(() => Promise.all((window as unknown as { __downloads: Promise<unknown>[] }).__downloads))) as { name: string; bytes: number[] }[];
    const npy = downloads.find((d) => d.name === 'cfcam-map.npy')!;
    const map = parseNpy(Uint8Array.from(npy.bytes));
    expect(map.shape).toEqual([224, 224]);
    expect(maxAbsDiff(map.data as Float32Array, state.results[0].map)).toBe(0);
    const png = downloads.find((d) => d.name === 'cfcam-overlay.png')!;
    const image = decodeImage(Uint8Array.from(png.bytes));
    expect([image.width, image.height]).toEqual([448, 448]);
    await page.close();
  });

  it('takes a dropped .onnx model: the layer picker lists its candidate layers, and a layer change explains again', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(chromium.url);
    await waitExplained(page, 1);
    const input = await page.$('#file');
    await (input as unknown as { uploadFile(...files: string[]): Promise<void> }).uploadFile(path.join(ROOT, 'test/fixtures/gradients/resnetish/model.onnx'));
    let state = await waitExplained(page, 2);
    const layers = await page.$$eval('#layer option', (o) => o.map((x) => (x as HTMLOptionElement).value));
    const candidates = listCandidateLayers(new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/gradients/resnetish/model.onnx'))));
    expect(layers).toEqual(candidates.map((c) => c.name));
    expect(state.layer).toBe(candidates[0].name);
    expect(await page.$eval('#model', (s) => (s as HTMLSelectElement).value)).toBe('dropped');
    await page.select('#layer', candidates[1].name);
    state = await waitExplained(page, 3);
    expect(state.layer).toBe(candidates[1].name);
    expect(state.results.map((r) => r.method)).toEqual(['cfcam', 'gradcam']);
    await page.close();
  });

  it('falls back to the CPU with a visible notice when WebGPU is missing', async () => {
    const page = await chromium.browser.newPage();
    // Hide WebGPU before any page script runs, as in a browser without it.
    await page.evaluateOnNewDocument(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      delete (Navigator.prototype as unknown as { gpu?: unknown }).gpu;
    });
    await page.goto(chromium.url);
    const state = await waitExplained(page, 1);
    expect(state.backend).toBe('cpu');
    const notice = await page.$eval('#status', (el) => ({ text: el.textContent ?? '', notice: el.classList.contains('notice') }));
    expect(notice.notice).toBe(true);
    expect(notice.text).toContain('WebGPU is not available');
    expect(notice.text).toMatch(/^CPU \(cpu fast \((wasm-simd|typescript)\)\)/);
    for (const result of state.results) await expectEqualToNode(result, sample(0));
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo-no-webgpu.png') });
    await page.close();
  });
});

/** The embed page's mosaic (embed.ts makeMosaic), rebuilt in Node: samples tiled 6 x 6, odd cells mirrored. */
function mosaicRegion(x0: number, y0: number, size: number): RgbaImage {
  const tiles = [0, 1, 2, 3, 4, 5].map(sample);
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const gx = x0 + x;
      const gy = y0 + y;
      const row = Math.floor(gy / 224);
      const col = Math.floor(gx / 224);
      const tile = tiles[(row * 6 + col) % 6];
      const tx = (row + col) % 2 === 1 ? 223 - (gx % 224) : gx % 224;
      const from = ((gy % 224) * 224 + tx) * 4;
      data.set(tile.data.subarray(from, from + 4), (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}

describe('the embedding example (embed.html)', () => {
  const chromium = useDemoBrowser();

  it('explains the region in view of a pan/zoom viewer, draws the overlay, and runs <cam-overlay>', async () => {
    const page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(`${chromium.url}embed.html`);
    await page.waitForFunction(() => Number(document.body.dataset.explained ?? 0) >= 1 && document.body.dataset.element !== undefined, { timeout: 240_000 });
    const first = (await page.evaluate(() => (window as unknown as { __embed: unknown }).__embed)) as { region: { x: number; y: number; width: number; height: number }; classIndex: number; backend: string; map: number[] };
    expect(first.backend).toBe('gpu');
    expect(first.region).toEqual({ x: 224, y: 224, width: 448, height: 448 });
    const expected = await node.explain(mosaicRegion(224, 224, 448), { method: 'gradcam' });
    expect(first.classIndex).toBe(expected.classIndex);
    expect(maxAbsDiff(first.map, expected.map)).toBeLessThanOrEqual(1e-4);
    expect(await page.evaluate(() => document.body.dataset.element)).toBe('explained');
    // <cam-overlay> explains again when an attribute that changes the explanation changes.
    const elementMethod = await page.evaluate(async () => {
      const element = document.getElementById('element') as HTMLElement & { result?: { method: string } };
      const again = new Promise<string>((resolve) => element.addEventListener('explained', () => resolve(element.result!.method), { once: true }));
      element.setAttribute('method', 'eigencam');
      return again;
    });
    expect(elementMethod).toBe('eigencam');

    // The overlay is on the viewer: its pixels differ from the bare mosaic's.
    const differs = await page.evaluate(() => {
      const viewer = document.getElementById('viewer') as HTMLCanvasElement;
      const shown = viewer.getContext('2d')!.getImageData(0, 0, viewer.width, viewer.height).data;
      return shown.some((v, i) => i % 4 !== 3 && v !== 0);
    });
    expect(differs).toBe(true);

    // Pan and zoom: the next explanation covers the new view.
    await page.evaluate(() => (window as unknown as { __setView(x: number, y: number, s: number): void }).__setView(0, 0, 224));
    await page.waitForFunction(() => Number(document.body.dataset.explained) >= 2, { timeout: 240_000 });
    const second = (await page.evaluate(() => (window as unknown as { __embed: unknown }).__embed)) as typeof first;
    expect(second.region).toEqual({ x: 0, y: 0, width: 224, height: 224 });
    const expected2 = await node.explain(sample(0), { method: 'gradcam' });
    expect(maxAbsDiff(second.map, expected2.map)).toBeLessThanOrEqual(1e-4);
    await page.screenshot({ path: path.join(ARTIFACTS, 'embed.png') });
    await page.close();
  });
});

describe('the demo with a live source (Chromium\'s fake webcam)', () => {
  const chromium = useDemoBrowser([...WEBGPU_FLAGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);

  it('explains webcam frames back to back and shows frames per second and the GPU stage split', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(chromium.url);
    await waitExplained(page, 1);
    await page.click('#methods input[value="cfcam"]'); // Grad-CAM alone: several frames quickly
    await waitExplained(page, 2);
    await page.click('#webcam');
    const state = await waitExplained(page, 5);
    expect(state.results.map((r) => r.method)).toEqual(['gradcam']);
    const panel = await page.evaluate(() => ({
      fps: Number(document.getElementById('fps')!.textContent),
      stages: Array.from(document.querySelectorAll('#stages td:first-child'), (td) => td.textContent ?? ''),
      stopEnabled: !(document.getElementById('stop') as HTMLButtonElement).disabled,
    }));
    expect(panel.fps).toBeGreaterThan(0);
    expect(panel.stopEnabled).toBe(true);
    expect(panel.stages.some((s) => s.includes('model (ONNX Runtime)'))).toBe(true);
    expect(panel.stages.some((s) => s.includes('(GPU)'))).toBe(true);
    await page.click('#stop');
    const stopped = (await demoState(page)).explained;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await demoState(page)).explained).toBeLessThanOrEqual(stopped + 1);
    await page.close();
  });
});
