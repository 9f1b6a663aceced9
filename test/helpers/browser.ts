import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'puppeteer-core';
import type { ViteDevServer } from 'vite';
import { launchChromium, startDemoServer, WEBGPU_FLAGS } from '../../scripts/chromium';

export { CHROMIUM, launchChromium, startDemoServer, WEBGPU_FLAGS } from '../../scripts/chromium';

/**
 * Starts the demo server and Chromium before the suite's tests and closes both after; the
 * returned object's `browser` and `url` are valid inside tests. Chromium missing is a failure
 * (with the install command), never a skip.
 */
export function useDemoBrowser(flags: string[] = WEBGPU_FLAGS): { readonly browser: Browser; readonly url: string } {
  let browser: Browser | undefined;
  let server: ViteDevServer | undefined;
  let url = '';
  beforeAll(async () => {
    ({ server, url } = await startDemoServer());
    browser = await launchChromium(flags);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    get browser() {
      if (!browser) throw new Error('the browser is not started (useDemoBrowser must be called in a describe block)');
      return browser;
    },
    get url() {
      return url;
    },
  };
}
