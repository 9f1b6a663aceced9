/**
 * The embedding example (embed.html): a pan/zoom viewer that explains the region in view, and a
 * <cam-overlay> element. It uses only the public browser API (src/engine/browser).
 */
import { createExplainer, defineCamOverlay, COLORMAPS, CAM_METHODS, METHODS, ExplainAbortedError, type CamExplanation, type Colormap, type CamMethod, type Region } from '../engine/browser/index.js';
import { BUNDLED_METADATA, BUNDLED_METADATA_URL, BUNDLED_MODEL_URL, SAMPLE_IMAGES } from './bundled-model.js';
import { ortModule } from './ort.js';

const viewer = document.getElementById('viewer') as HTMLCanvasElement;
const status = document.getElementById('status')!;
const methodSelect = document.getElementById('method') as HTMLSelectElement;
const colormapSelect = document.getElementById('colormap') as HTMLSelectElement;
const opacity = document.getElementById('opacity') as HTMLInputElement;

/** The "large image": the six samples and their mirror images tiled 6 x 6 (1344 x 1344 pixels). */
async function makeMosaic(): Promise<OffscreenCanvas> {
  const tiles = await Promise.all(SAMPLE_IMAGES.map(async (s) => createImageBitmap(await (await fetch(s.url)).blob())));
  const size = 224;
  const mosaic = new OffscreenCanvas(size * 6, size * 6);
  const ctx = mosaic.getContext('2d')!;
  for (let row = 0; row < 6; row++) {
    for (let col = 0; col < 6; col++) {
      const tile = tiles[(row * 6 + col) % tiles.length];
      ctx.save();
      if ((row + col) % 2 === 1) {
        ctx.translate((col + 1) * size, row * size);
        ctx.scale(-1, 1);
        ctx.drawImage(tile, 0, 0, size, size);
      } else {
        ctx.drawImage(tile, col * size, row * size, size, size);
      }
      ctx.restore();
    }
  }
  return mosaic;
}

/** The view: the image rectangle shown in the viewer (image pixels). */
interface View {
  x: number;
  y: number;
  size: number;
}

async function main(): Promise<void> {
  const [explainer, mosaic] = await Promise.all([
    createExplainer({ model: BUNDLED_MODEL_URL, metadata: BUNDLED_METADATA, ort: ortModule }),
    makeMosaic(),
  ]);
  const where = explainer.backend === 'gpu' ? `the GPU (${explainer.adapterName})` : `the CPU (${explainer.adapterName}): WebGPU is not available here`;
  status.textContent = `Explaining on ${where}.`;
  if (explainer.backend === 'cpu') status.className = 'notice';
  methodSelect.replaceChildren(...CAM_METHODS.filter((m) => !METHODS[m].capabilities.evidenceLayer).map((m) => new Option(m, m)));
  methodSelect.value = 'gradcam';
  colormapSelect.replaceChildren(...COLORMAPS.map((c) => new Option(c, c)));
  colormapSelect.value = 'jet';

  const view: View = { x: 224, y: 224, size: 448 };
  let result: CamExplanation | undefined;
  let pending: AbortController | undefined;
  let explained = 0;

  const draw = () => {
    const ctx = viewer.getContext('2d')!;
    ctx.imageSmoothingEnabled = true;
    ctx.clearRect(0, 0, viewer.width, viewer.height);
    ctx.drawImage(mosaic, view.x, view.y, view.size, view.size, 0, 0, viewer.width, viewer.height);
    if (!result) return;
    // The explained region, where it is on screen now (the view may have moved since).
    const scale = viewer.width / view.size;
    const r = result.region;
    const screen: Region = { x: (r.x - view.x) * scale, y: (r.y - view.y) * scale, width: r.width * scale, height: r.height * scale };
    result.drawOverlay(viewer, { region: screen, colormap: colormapSelect.value as Colormap, opacity: Number(opacity.value) });
  };

  const explainView = async () => {
    pending?.abort(); // a newer view replaces a request that has not started yet
    const controller = new AbortController();
    pending = controller;
    const region: Region = { x: Math.round(view.x), y: Math.round(view.y), width: Math.round(view.size), height: Math.round(view.size) };
    try {
      const next = await explainer.explain(mosaic, { method: methodSelect.value as CamMethod, region, signal: controller.signal });
      result?.dispose();
      result = next;
      explained++;
      status.textContent = `Explaining on ${where}. Region ${region.width}x${region.height} at (${region.x}, ${region.y}): class ${next.classIndex}, ${next.timings.totalMs.toFixed(0)} ms.`;
      draw();
      Object.assign(window, { __embed: { explained, region: next.region, classIndex: next.classIndex, backend: explainer.backend, map: Array.from(next.toFloat32Array()) } });
      document.body.dataset.explained = String(explained);
    } catch (error) {
      if (error instanceof ExplainAbortedError) return;
      status.textContent = `Error: ${error instanceof Error ? error.message : String(error)}`;
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const viewChanged = () => {
    const limit = mosaic.width;
    view.size = Math.min(limit, Math.max(64, view.size));
    view.x = Math.min(limit - view.size, Math.max(0, view.x));
    view.y = Math.min(limit - view.size, Math.max(0, view.y));
    draw();
    clearTimeout(timer);
    timer = setTimeout(() => void explainView(), 120);
  };

  let drag: { x: number; y: number } | undefined;
  viewer.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, y: e.clientY };
    viewer.setPointerCapture(e.pointerId);
  });
  viewer.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const scale = view.size / viewer.clientWidth;
    view.x -= (e.clientX - drag.x) * scale;
    view.y -= (e.clientY - drag.y) * scale;
    drag = { x: e.clientX, y: e.clientY };
    viewChanged();
  });
  viewer.addEventListener('pointerup', () => (drag = undefined));
  viewer.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const factor = Math.exp(e.deltaY * 0.001);
      const rect = viewer.getBoundingClientRect();
      // Zoom about the pointer.
      const px = view.x + ((e.clientX - rect.left) / rect.width) * view.size;
      const py = view.y + ((e.clientY - rect.top) / rect.height) * view.size;
      const size = view.size * factor;
      view.x = px - ((px - view.x) * size) / view.size;
      view.y = py - ((py - view.y) * size) / view.size;
      view.size = size;
      viewChanged();
    },
    { passive: false },
  );
  methodSelect.addEventListener('change', () => void explainView());
  colormapSelect.addEventListener('input', draw);
  opacity.addEventListener('input', draw);
  // For tests and the console: move the view programmatically.
  Object.assign(window, {
    __setView(x: number, y: number, size: number) {
      Object.assign(view, { x, y, size });
      viewChanged();
    },
  });

  // The custom element: same model, its own (shared) explainer.
  defineCamOverlay(ortModule);
  const element = document.getElementById('element')!;
  element.addEventListener('explained', () => (document.body.dataset.element = 'explained'));
  element.addEventListener('error', () => (document.body.dataset.element = 'error'));
  element.setAttribute('metadata', BUNDLED_METADATA_URL);
  element.setAttribute('model', BUNDLED_MODEL_URL);
  element.setAttribute('src', SAMPLE_IMAGES[1].url);

  draw();
  await explainView();
}

main().catch((error: unknown) => {
  status.textContent = `Error: ${error instanceof Error ? error.message : String(error)}`;
  document.body.dataset.explained = 'error';
});
