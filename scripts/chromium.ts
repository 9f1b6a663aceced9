/**
 * Headless Chromium with WebGPU (SwiftShader when there is no GPU) and the Vite server of the
 * web pages: shared by the page tests, the browser benchmark and the screenshot script.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that give headless Chromium WebGPU on SwiftShader (no GPU needed). */
export const WEBGPU_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function launchChromium(extraFlags: string[] = WEBGPU_FLAGS): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}; install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: extraFlags });
}

/** The demo app served by Vite's dev server on 127.0.0.1 (WebGPU needs a secure context). */
export async function startDemoServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    configFile: 'vite.config.ts',
    logLevel: process.env.VITE_LOG === 'info' ? 'info' : 'error',
    // No file watching: a page reloaded by an edit elsewhere in the checkout would restart mid-test.
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('Vite did not report a URL');
  return { server, url };
}

