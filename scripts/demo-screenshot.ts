/**
 * The README's demo screenshot (docs/demo.png): the demo in headless Chromium (WebGPU), four
 * methods side by side on the first sample.
 *
 *   npx tsx scripts/demo-screenshot.ts [OUT.png]
 */
import { launchChromium, startDemoServer } from './chromium.js';

const out = process.argv[2] ?? 'docs/demo.png';
const { server, url } = await startDemoServer();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1360, height: 1000 });
  await page.goto(url);
  const explained = async (n: number) => {
    await page.waitForFunction((k) => Number(document.body.dataset.explained ?? 0) >= k || document.body.dataset.ready === 'error', { timeout: 600_000 }, n);
    if ((await page.evaluate(() => document.body.dataset.ready)) === 'error') throw new Error(await page.$eval('#status', (el) => el.textContent ?? ''));
  };
  await explained(1);
  await page.click('#methods input[value="scorecam"]');
  await explained(2);
  await page.click('#methods input[value="cluscam"]');
  await explained(3);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
