/**
 * The production build of the web pages (`npm run build:web`): all three pages are emitted, and
 * the built demo finds ONNX Runtime's wasm and the bundled model and explains a sample with
 * WebGPU in headless Chromium, served by `vite preview` (no dev server involved).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser';

describe('the production build of the pages', () => {
  const outDir = mkdtempSync(path.join(tmpdir(), 'webgpu-cam-web-'));
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir }, preview: { host: '127.0.0.1', port: 0 } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
    rmSync(outDir, { recursive: true, force: true });
  });

  it('emits the demo, the embedding example and the benchmark page', () => {
    for (const page of ['index.html', 'embed.html', 'bench.html']) expect(existsSync(path.join(outDir, page)), page).toBe(true);
  });

  it('runs the built demo on WebGPU', async () => {
    const url = server!.resolvedUrls?.local[0];
    expect(url).toBeDefined();
    const page = await browser!.newPage();
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(url!);
    await page.waitForFunction(() => document.body.dataset.explained === '1' || document.body.dataset.ready === 'error', { timeout: 240_000 });
    const status = await page.$eval('#status', (el) => el.textContent ?? '');
    expect(await page.evaluate(() => document.body.dataset.ready), status).toBe('true');
    expect(status).toContain('CAMs on the GPU');
    expect(failed).toEqual([]);
    await page.close();
  });
});
