import { describe, expect, it } from 'vitest';
import { useDemoBrowser } from './helpers/browser';
import { syntheticInput } from '../src/demo/synthetic';
import { computeCamCpu } from '../src/engine/reference/index';
import { maxAbsDiff } from './helpers/golden';

interface PageResult {
  backend: string;
  adapter: string;
  map: number[];
  labels: number[];
}

describe('the engine in a real browser (headless Chromium, WebGPU)', () => {
  const chromium = useDemoBrowser();

  it('computes CF-CAM on navigator.gpu, equal to the CPU reference', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(chromium.url);
    await page.waitForSelector('body[data-ready]', { timeout: 90_000 });
    const ready = await page.evaluate(() => document.body.dataset.ready);
    const status = await page.$eval('#status', (el) => el.textContent ?? '');
    expect(ready, status).toBe('true');
    const result = (await page.evaluate(() => (window as unknown as { __webgpuCam: unknown }).__webgpuCam)) as PageResult;
    expect(result.backend).toBe('gpu');
    const expected = computeCamCpu('cfcam', syntheticInput());
    expect(result.labels).toEqual(Array.from(expected.cfcam!.labels));
    expect(maxAbsDiff(result.map, expected.maps)).toBeLessThanOrEqual(1e-4);
    await page.close();
  });

  it('falls back to the CPU reference with a visible notice when WebGPU is missing', async () => {
    const page = await chromium.browser.newPage();
    // Hide WebGPU before any page script runs, as in a browser without it.
    await page.evaluateOnNewDocument(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      delete (Navigator.prototype as unknown as { gpu?: unknown }).gpu;
    });
    await page.goto(chromium.url);
    await page.waitForSelector('body[data-ready]', { timeout: 90_000 });
    const result = (await page.evaluate(() => (window as unknown as { __webgpuCam: unknown }).__webgpuCam)) as PageResult;
    expect(result.backend).toBe('cpu');
    const notice = await page.$eval('#status', (el) => ({ text: el.textContent ?? '', visible: el.classList.contains('notice') }));
    expect(notice.visible).toBe(true);
    expect(notice.text).toContain('WebGPU is not available');
    await page.close();
  });
});
