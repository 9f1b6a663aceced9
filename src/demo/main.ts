import { createCamEngine, GpuUnavailableError, type CamEngine } from '../engine/index.js';
import { jetColor } from './colormap.js';
import { syntheticInput } from './synthetic.js';

const status = document.querySelector<HTMLDivElement>('#status')!;
const canvas = document.querySelector<HTMLCanvasElement>('#map')!;

function draw(map: Float32Array, width: number, height: number): void {
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < map.length; i++) {
    const [r, g, b] = jetColor(map[i]);
    image.data.set([r, g, b, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
}

async function main(): Promise<void> {
  // navigator.gpu can be missing (Firefox stable, older Safari) or present without a usable
  // adapter (blocklisted GPU): both fall back to the CPU reference with a visible notice.
  let engine: CamEngine;
  try {
    engine = await createCamEngine();
  } catch (error) {
    if (!(error instanceof GpuUnavailableError)) throw error;
    engine = await createCamEngine({ backend: 'cpu' });
    status.classList.add('notice');
  }
  const input = syntheticInput();
  const started = performance.now();
  const run = await engine.compute('cfcam', input, { timing: true });
  const ms = performance.now() - started;
  draw(run.maps, 224, 224);
  const d = run.cfcam!;
  const where = engine.backend === 'gpu' ? `GPU (${engine.adapterName})` : 'CPU reference: WebGPU is not available in this browser';
  status.textContent = `CF-CAM on ${where}: ${ms.toFixed(1)} ms; eps ${d.eps[0].toFixed(4)}, ${d.clusters[0]} clusters, ${d.important[0]} important, ${d.noise[0]} noise channels.`;
  // Exposed for the browser tests, which compare the page's map with Node's.
  Object.assign(window, { __webgpuCam: { backend: engine.backend, adapter: engine.adapterName, map: Array.from(run.maps), labels: Array.from(d.labels) } });
  document.body.dataset.ready = 'true';
}

main().catch((error: unknown) => {
  status.textContent = `Error: ${error instanceof Error ? error.message : String(error)}`;
  status.classList.add('notice');
  document.body.dataset.ready = 'error';
});
