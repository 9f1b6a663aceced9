/**
 * The embedding API (src/engine/browser) in headless Chromium: results as GPUBuffer, GPUTexture
 * and Float32Array agree; many requests in flight queue and all resolve in call order; an
 * aborted request never runs; dispose() rejects waiting requests, destroys results' GPU
 * resources and the explainer's device (results keep their host data); pixels are read when
 * explain() is called; bad or unloaded sources give typed errors.
 */
import { describe, expect, it } from 'vitest';
import { useDemoBrowser } from './helpers/browser';

interface ApiReport {
  backend: string;
  gpuEqualsHost: number;
  textureEqualsHost: number;
  textureFormat: string;
  textureSize: number[];
  order: number[];
  classes: number[];
  sameMaps: boolean;
  aborted: string;
  afterAbortRan: boolean;
  pendingPeak: number;
  regionError: string;
  methodError: string;
  tensorEqualsBitmap: number;
  waitingRejected: string;
  disposedResult: string;
  deviceLost: string;
  explainAfterDispose: string;
  cpuEqualsGpu: number;
  closedAfterCallEquals: number;
  closedError: string;
  unloadedError: string;
  abortEvents: string[];
  runningResolved: boolean;
  hostAfterDispose: number;
  colourFormat: string;
  colourMismatches: number;
  colourTransparent: number;
}

/** Page code (a string: vitest rewrites import() in test code). `root` is the project folder. */
const PAGE_CODE = `async (root) => {
  const api = await import('/@fs' + root + '/src/engine/browser/index.ts');
  const { ortModule } = await import('/ort.ts');
  const { BUNDLED_MODEL_URL, BUNDLED_METADATA, SAMPLE_IMAGES } = await import('/bundled-model.ts');
  const bitmaps = await Promise.all(SAMPLE_IMAGES.map(async (s) => createImageBitmap(await (await fetch(s.url)).blob())));
  const maxDiff = (a, b) => { let m = a.length === b.length ? 0 : Infinity; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
  const message = async (promise) => { try { await promise; return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
  const report = {};
  const explainer = await api.createExplainer({ model: BUNDLED_MODEL_URL, metadata: BUNDLED_METADATA, ort: ortModule });
  report.backend = explainer.backend;
  const device = explainer.device;

  // One result in its three forms.
  const result = await explainer.explain(bitmaps[0], { method: 'gradcam' });
  const host = result.toFloat32Array();
  const readBuffer = async (buffer, size) => {
    const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return out;
  };
  report.gpuEqualsHost = maxDiff(await readBuffer(result.buffer, host.byteLength), host);
  const texture = result.texture;
  report.textureFormat = texture.format;
  report.textureSize = [texture.width, texture.height];
  const rowBytes = Math.ceil((texture.width * 4) / 256) * 256;
  const copy = device.createBuffer({ size: rowBytes * texture.height, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyTextureToBuffer({ texture }, { buffer: copy, bytesPerRow: rowBytes }, [texture.width, texture.height]);
  device.queue.submit([encoder.finish()]);
  const padded = await readBuffer(copy, rowBytes * texture.height);
  const rows = new Float32Array(texture.width * texture.height);
  for (let y = 0; y < texture.height; y++) rows.set(padded.subarray((y * rowBytes) / 4, (y * rowBytes) / 4 + texture.width), y * texture.width);
  report.textureEqualsHost = maxDiff(rows, host);

  // The GPU-coloured overlay texture has the bytes of the CPU colouring.
  const colourOptions = { colormap: 'viridis', opacity: 0.5, threshold: 0.3 };
  const coloured = await result.colorTexture(colourOptions);
  report.colourFormat = coloured.format;
  const colourRow = Math.ceil((224 * 4) / 256) * 256;
  const colourCopy = device.createBuffer({ size: colourRow * 224, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const colourEncoder = device.createCommandEncoder();
  colourEncoder.copyTextureToBuffer({ texture: coloured }, { buffer: colourCopy, bytesPerRow: colourRow }, [224, 224]);
  device.queue.submit([colourEncoder.finish()]);
  const colourBytes = new Uint8Array((await readBuffer(colourCopy, colourRow * 224)).buffer);
  const expectedBytes = result.toImageData(colourOptions).data;
  let colourMismatches = 0;
  for (let y = 0; y < 224; y++) for (let x = 0; x < 224 * 4; x++) if (colourBytes[y * colourRow + x] !== expectedBytes[y * 224 * 4 + x]) colourMismatches++;
  report.colourMismatches = colourMismatches;
  report.colourTransparent = expectedBytes.filter((v, i) => i % 4 === 3 && v === 0).length;

  // Many requests at once: they resolve in call order, one at a time.
  const order = [];
  let peak = 0;
  const requests = [0, 1, 2, 3, 4, 5, 0].map((i, n) => {
    const p = explainer.explain(bitmaps[i], { method: 'gradcam' }).then((r) => { order.push(n); return r; });
    peak = Math.max(peak, explainer.pending);
    return p;
  });
  const controller = new AbortController();
  let afterAbortRan = false;
  const abortedRequest = explainer.explain(bitmaps[1], { method: 'cfcam', signal: controller.signal }).then((r) => { afterAbortRan = true; return r; });
  controller.abort();
  const results = await Promise.all(requests);
  report.aborted = await message(abortedRequest);
  report.afterAbortRan = afterAbortRan;
  report.order = order;
  report.pendingPeak = peak;
  report.classes = results.map((r) => r.classIndex);
  report.sameMaps = maxDiff(results[0].toFloat32Array(), results[6].toFloat32Array()) === 0;

  // Pixels are read when explain() is called: closing the bitmap right after does not matter.
  const closing = await createImageBitmap(bitmaps[3]);
  const early = explainer.explain(closing, { method: 'gradcam' });
  closing.close();
  report.closedAfterCallEquals = maxDiff((await early).toFloat32Array(), results[3].toFloat32Array());
  report.closedError = await message(explainer.explain(closing));
  const unloaded = new Image();
  unloaded.src = SAMPLE_IMAGES[0].url + '?not-yet';
  report.unloadedError = await message(explainer.explain(unloaded));

  // Cancelling a waiting request rejects it at once, before the request ahead of it finishes.
  const events = [];
  const slow = explainer.explain(bitmaps[0], { method: 'cfcam' }).then(() => events.push('slow done'));
  const cancel = new AbortController();
  const cancelled = explainer.explain(bitmaps[1], { method: 'gradcam', signal: cancel.signal }).then(() => events.push('cancelled ran'), (e) => events.push(e.name));
  setTimeout(() => cancel.abort(), 10);
  await Promise.all([slow, cancelled]);
  report.abortEvents = events;

  // Typed errors for bad input.
  report.regionError = await message(explainer.explain(bitmaps[0], { region: { x: 500, y: 500, width: 10, height: 10 } }));
  report.methodError = await message(explainer.explain(bitmaps[0], { method: 'nope' }));

  // A plain RGBA tensor gives the same map as the bitmap it came from.
  const canvas = new OffscreenCanvas(224, 224);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmaps[3], 0, 0);
  const pixels = ctx.getImageData(0, 0, 224, 224);
  const fromTensor = await explainer.explain({ data: pixels.data, width: 224, height: 224 }, { method: 'gradcam' });
  report.tensorEqualsBitmap = maxDiff(fromTensor.toFloat32Array(), results[3].toFloat32Array());

  // The CPU backend computes the same map.
  const cpu = await api.createExplainer({ model: BUNDLED_MODEL_URL, metadata: BUNDLED_METADATA, ort: ortModule, backend: 'cpu' });
  report.cpuEqualsGpu = maxDiff((await cpu.explain(bitmaps[0], { method: 'gradcam' })).toFloat32Array(), host);
  await cpu.dispose();

  // dispose(): waiting requests are rejected, results and the device are freed.
  const running = explainer.explain(bitmaps[2], { method: 'gradcam' });
  const waiting = explainer.explain(bitmaps[4], { method: 'gradcam' });
  await new Promise((r) => setTimeout(r, 0)); // the first one has started
  const lost = device.lost.then((info) => info.reason);
  await explainer.dispose();
  const finished = await running.then((r) => r, () => undefined);
  report.runningResolved = finished !== undefined && finished.toFloat32Array().length === 224 * 224;
  report.waitingRejected = await message(waiting);
  report.disposedResult = await message(Promise.resolve().then(() => result.buffer));
  report.hostAfterDispose = result.toFloat32Array().length;
  report.deviceLost = await Promise.race([lost, new Promise((r) => setTimeout(() => r('not lost'), 5000))]);
  report.explainAfterDispose = await message(explainer.explain(bitmaps[0]));
  return report;
}`;

describe('the embedding API in a real browser', () => {
  const chromium = useDemoBrowser();

  it('gives the map as buffer, texture and array, queues requests, and frees everything on dispose', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(chromium.url + 'embed.html');
    const r = (await page.evaluate(`(${PAGE_CODE})(${JSON.stringify(process.cwd())})`)) as ApiReport;
    expect(r.backend).toBe('gpu');
    expect(r.gpuEqualsHost).toBe(0);
    expect(r.textureEqualsHost).toBe(0);
    expect(r.textureFormat).toBe('r32float');
    expect(r.textureSize).toEqual([224, 224]);
    expect(r.colourFormat).toBe('rgba8unorm');
    expect(r.colourMismatches).toBe(0);
    expect(r.colourTransparent).toBeGreaterThan(0); // the threshold hid part of the map
    expect(r.order).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.pendingPeak).toBeGreaterThanOrEqual(7);
    expect(r.sameMaps).toBe(true);
    expect(r.aborted).toMatch(/^ExplainAbortedError/);
    expect(r.afterAbortRan).toBe(false);
    expect(r.regionError).toMatch(/^InvalidOptionError: region .* lies outside the 224x224 image/);
    expect(r.methodError).toMatch(/^InvalidOptionError: unknown method 'nope'/);
    expect(r.tensorEqualsBitmap).toBe(0);
    expect(r.cpuEqualsGpu).toBeLessThanOrEqual(1e-4);
    expect(r.waitingRejected).toMatch(/^DisposedError/);
    expect(r.disposedResult).toMatch(/^DisposedError/);
    expect(r.deviceLost).toBe('destroyed');
    expect(r.explainAfterDispose).toMatch(/^DisposedError/);
    expect(r.closedAfterCallEquals).toBe(0);
    expect(r.closedError).toMatch(/^InvalidOptionError: the ImageBitmap is closed/);
    expect(r.unloadedError).toMatch(/^InvalidOptionError: the <img> has not loaded yet/);
    expect(r.abortEvents).toEqual(['ExplainAbortedError', 'slow done']);
    expect(r.runningResolved).toBe(true);
    expect(r.hostAfterDispose).toBe(224 * 224);
    await page.close();
  });
});
