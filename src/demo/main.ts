/**
 * The interactive demo: pick an image (samples, a file, drag-and-drop, webcam, video), a model
 * (the bundled one or a dropped .onnx) and its layer, up to four methods side by side and the
 * class; see the maps with a choice of colour map, opacity, threshold and contour; export them.
 * Built on the embedding API (src/engine/browser), like any page would be.
 *
 * Without WebGPU the explainer runs on the CPU (its fast path) and the page says so.
 * `window.__webgpuCam` exposes the latest results for the end-to-end tests.
 */
import { createExplainer, type Explainer } from '../engine/browser/explainer.js';
import type { CamExplanation } from '../engine/browser/result.js';
import { COLORMAPS, type Colormap } from '../engine/display/colormaps.js';
import type { ModelMetadata } from '../engine/model/explainer.js';
import { parseModelMetadata } from '../engine/model/metadata-parse.js';
import type { CamMethod } from '../engine/methods/registry.js';
import { CAM_METHODS } from '../engine/methods/registry.js';
import { BUNDLED_MODELS, SAMPLE_IMAGES } from './bundled-model.js';
import { downloadBytes, downloadCanvasPng } from './export.js';
import { FpsMeter, openVideoFile, openWebcam, startLiveLoop, type LiveLoop } from './live.js';
import { ortModule } from './ort.js';
import { renderPanel } from './panel.js';
import { curveSvg } from '../engine/metrics/curve-svg.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLDivElement>('status');
const views = $<HTMLDivElement>('views');
const layerSelect = $<HTMLSelectElement>('layer');
const classSelect = $<HTMLSelectElement>('class');
const colormapSelect = $<HTMLSelectElement>('colormap');
const opacity = $<HTMLInputElement>('opacity');
const threshold = $<HTMLInputElement>('threshold');
const contour = $<HTMLInputElement>('contour');
const signed = $<HTMLInputElement>('signed');
const video = $<HTMLVideoElement>('video');
const VIEW_SIZE = 448;
const MAX_VIEWS = 4;

interface DemoState {
  explainer?: Explainer;
  modelName: string;
  /** A bundled model's URL, or the bytes of a dropped one. */
  model: string | Uint8Array;
  metadata: ModelMetadata;
  source?: ImageBitmap;
  methods: CamMethod[];
  results: CamExplanation[];
  live?: LiveLoop;
  busy: boolean;
  explained: number;
}

const state: DemoState = {
  modelName: BUNDLED_MODELS[0].label,
  model: BUNDLED_MODELS[0].url,
  metadata: BUNDLED_MODELS[0].metadata,
  methods: ['cfcam', 'gradcam'],
  results: [],
  busy: false,
  explained: 0,
};
const modelSelect = $<HTMLSelectElement>('model');
const fps = new FpsMeter();

function setStatus(text: string, kind: 'info' | 'notice' | 'error' = 'info'): void {
  status.textContent = text;
  status.className = kind === 'info' ? '' : kind;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function backendStatus(explainer: Explainer): void {
  if (explainer.backend === 'gpu') {
    setStatus(`CAMs on the GPU (${explainer.adapterName}); model ${state.modelName}, layer ${explainer.layer}.`);
  } else {
    setStatus(`CPU (${explainer.adapterName}): WebGPU is not available in this browser (${explainer.fallbackReason ?? 'no adapter'}). The maps are exact but slower; use a browser with WebGPU for GPU speed.`, 'notice');
  }
}

function fillSelect(select: HTMLSelectElement, options: [string, string][], value?: string): void {
  select.replaceChildren(...options.map(([v, label]) => new Option(label, v)));
  if (value !== undefined) select.value = value;
}

/** (Re)create the explainer for the current model and layer. */
async function loadExplainer(layer?: string): Promise<void> {
  state.live?.stop();
  state.live = undefined;
  const previous = state.explainer;
  state.explainer = undefined;
  await previous?.dispose();
  setStatus(`Loading ${state.modelName}…`);
  const explainer = await createExplainer({ model: state.model, metadata: state.metadata, layer, ort: ortModule });
  state.explainer = explainer;
  updateSoftcamAvailability(explainer);
  fillSelect(
    layerSelect,
    explainer.candidates.map((c) => [c.name, `${c.name} [${c.shape.join('x')}]`]),
    explainer.layer,
  );
  backendStatus(explainer);
}

/** Soft-CAM needs a model with a class-evidence map, explained at that layer. */
function updateSoftcamAvailability(explainer: Explainer): void {
  const input = document.querySelector<HTMLInputElement>('#methods input[value="softcam"]');
  if (!input) return;
  const usable = explainer.evidenceLayer !== undefined && explainer.evidenceLayer === explainer.layer;
  input.disabled = !usable;
  input.parentElement!.title = usable ? 'the model\'s own class-evidence map' : 'needs a Soft-CAM model (pick "digits Soft-CAM") at its evidence layer';
  if (!usable && state.methods.includes('softcam')) {
    input.checked = false;
    state.methods = state.methods.filter((m) => m !== 'softcam');
    if (state.methods.length === 0) state.methods = ['gradcam'];
  }
}

function buildMethodPicker(): void {
  const box = $('methods');
  box.replaceChildren(
    ...CAM_METHODS.map((method) => {
      const label = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.value = method;
      input.checked = state.methods.includes(method);
      input.addEventListener('change', () => {
        const chosen = Array.from(box.querySelectorAll<HTMLInputElement>('input:checked')).map((i) => i.value as CamMethod);
        if (chosen.length === 0 || chosen.length > MAX_VIEWS) {
          input.checked = !input.checked; // keep 1..4 methods
          setStatus(`Pick between 1 and ${MAX_VIEWS} methods.`, 'notice');
          return;
        }
        state.methods = chosen;
        void explainCurrent();
      });
      label.append(input, ` ${method}`);
      return label;
    }),
  );
}

function displayOptions() {
  const colormap = colormapSelect.value as Colormap;
  return {
    colormap,
    opacity: Number(opacity.value),
    threshold: Number(threshold.value),
    contour: contour.checked ? { level: 0.5, color: [255, 255, 255] as [number, number, number] } : undefined,
    signed: signed.checked,
  };
}

/** Draw every view: the source stretched to the map's frame (as the model sees it), the overlay on top. */
function render(): void {
  const source = state.source;
  const figures = state.results.map((result) => {
    const figure = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = VIEW_SIZE;
    canvas.height = VIEW_SIZE;
    const ctx = canvas.getContext('2d')!;
    if (source) ctx.drawImage(source, 0, 0, VIEW_SIZE, VIEW_SIZE);
    const options = displayOptions();
    // Soft-CAM's signed evidence: a diverging map centred on zero (red for, blue against).
    const signedView = options.signed && result.signed;
    try {
      result.drawOverlay(canvas, { ...options, signed: signedView, colormap: signedView ? 'diverging' : options.colormap });
    } catch (error) {
      setStatus(errorText(error), 'error');
    }
    const caption = document.createElement('figcaption');
    const what = `${result.method}: class ${result.className ?? result.classIndex}`;
    caption.append(what, document.createElement('span'));
    caption.lastElementChild!.textContent = `${result.timings.totalMs.toFixed(1)} ms`;
    figure.append(canvas, caption);
    figure.dataset.method = result.method;
    return figure;
  });
  views.replaceChildren(...figures);
}

function updateClassPicker(result: CamExplanation): void {
  const current = classSelect.value;
  const options: [string, string][] = [['', 'top-1 prediction']];
  for (const c of result.top5) options.push([String(c.index), `${c.name ?? c.index}: ${(100 * c.probability).toFixed(1)}%`]);
  fillSelect(classSelect, options, options.some(([v]) => v === current) ? current : '');
}

function expose(): void {
  const explainer = state.explainer;
  Object.assign(window, {
    __webgpuCam: {
      backend: explainer?.backend,
      adapter: explainer?.adapterName,
      layer: explainer?.layer,
      explained: state.explained,
      results: state.results.map((r) => ({
        method: r.method,
        classIndex: r.classIndex,
        top5: r.top5.map((c) => c.index),
        width: r.width,
        height: r.height,
        map: Array.from(r.toFloat32Array()),
        signedMap: r.signed ? Array.from(r.signedFloat32Array()!) : undefined,
      })),
    },
  });
}

/**
 * Deletion and insertion curves of the first view's map (100 steps: about 200 model runs), drawn
 * as a small SVG with both areas; cleared whenever the views change.
 */
async function showCurves(): Promise<void> {
  const explainer = state.explainer;
  const source = state.source;
  const result = state.results[0];
  const box = $('curve-result');
  if (!explainer || !source || !result) return;
  box.textContent = `scoring ${result.method}: ~200 model runs…`;
  const curves = await explainer.deletionInsertion(source, result);
  if (state.results[0] !== result) return; // the views changed meanwhile
  const series = [
    { label: `deletion ${curves.deletion.auc.toFixed(3)}`, values: Array.from(curves.deletion.curve) },
    { label: `insertion ${curves.insertion.auc.toFixed(3)}`, values: Array.from(curves.insertion.curve) },
  ];
  box.innerHTML = curveSvg(`${result.method}, class ${result.className ?? result.classIndex}: AUC`, series, 260, 170);
  box.dataset.deletionAuc = String(curves.deletion.auc);
  box.dataset.insertionAuc = String(curves.insertion.auc);
  Object.assign(window, { __webgpuCamCurves: { method: result.method, classIndex: result.classIndex, deletion: Array.from(curves.deletion.curve), insertion: Array.from(curves.insertion.curve), deletionAuc: curves.deletion.auc, insertionAuc: curves.insertion.auc } });
}

/** Explain the current source with every chosen method (requests queue in the explainer). */
async function explainCurrent(): Promise<void> {
  const explainer = state.explainer;
  const source = state.source;
  if (!explainer || !source) return;
  const classIndex = classSelect.value === '' ? undefined : Number(classSelect.value);
  const settled = await Promise.allSettled(state.methods.map((method) => explainer.explain(source, { method, classIndex })));
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) {
    // Keep nothing half-done: free the results that did arrive, then report the failure.
    for (const s of settled) if (s.status === 'fulfilled') s.value.dispose();
    throw failure.reason;
  }
  const results = settled.map((s) => (s as PromiseFulfilledResult<CamExplanation>).value);
  for (const old of state.results) old.dispose();
  state.results = results;
  $('curve-result').replaceChildren();
  state.explained++;
  fps.tick();
  updateClassPicker(results[0]);
  render();
  renderPanel($<HTMLTableElement>('stages'), $('fps'), state.live ? fps.fps : 0, results, explainer.backend === 'gpu' ? 'GPU' : 'CPU');
  expose();
  document.body.dataset.ready = 'true';
  document.body.dataset.explained = String(state.explained);
}

async function useImage(blob: Blob | string): Promise<void> {
  stopLive();
  const bitmap = typeof blob === 'string' ? await createImageBitmap(await (await fetch(blob)).blob()) : await createImageBitmap(blob);
  state.source?.close();
  state.source = bitmap;
  await explainCurrent();
}

function stopLive(): void {
  state.live?.stop();
  state.live = undefined;
  $<HTMLButtonElement>('stop').disabled = true;
}

function startLive(): void {
  $<HTMLButtonElement>('stop').disabled = false;
  state.live = startLiveLoop(
    video,
    async (frame) => {
      state.source?.close();
      state.source = frame;
      await explainCurrent();
    },
    (error) => setStatus(errorText(error), 'error'),
  );
}

async function useFiles(files: FileList | File[]): Promise<void> {
  const list = Array.from(files);
  const onnx = list.find((f) => f.name.toLowerCase().endsWith('.onnx'));
  const json = list.find((f) => f.name.toLowerCase().endsWith('.json'));
  const media = list.find((f) => f.type.startsWith('image/') || f.type.startsWith('video/'));
  if (onnx) {
    state.model = new Uint8Array(await onnx.arrayBuffer());
    state.modelName = onnx.name;
    state.metadata = json ? parseModelMetadata(JSON.parse(await json.text()) as Record<string, unknown>) : {};
    modelSelect.append(new Option(onnx.name, 'dropped'));
    modelSelect.value = 'dropped';
    await loadExplainer();
    await explainCurrent();
  }
  if (media?.type.startsWith('video/')) {
    stopLive();
    await openVideoFile(video, media);
    startLive();
  } else if (media) {
    await useImage(media);
  }
  if (!onnx && !media) setStatus(`Not an image, video or .onnx model: ${list.map((f) => f.name).join(', ')}`, 'error');
}

function guard(action: () => Promise<void>): () => void {
  return () => {
    action().catch((error: unknown) => setStatus(errorText(error), 'error'));
  };
}

function wireControls(): void {
  const samples = $('samples');
  for (const sample of SAMPLE_IMAGES) {
    const img = document.createElement('img');
    img.src = sample.url;
    img.alt = sample.name;
    img.title = sample.name;
    img.addEventListener(
      'click',
      guard(async () => {
        samples.querySelectorAll('img').forEach((i) => i.classList.toggle('active', i === img));
        await useImage(sample.url);
      }),
    );
    samples.append(img);
  }
  fillSelect(colormapSelect, COLORMAPS.map((c) => [c, c]), 'jet');
  for (const input of [colormapSelect, opacity, threshold, contour, signed]) input.addEventListener('input', render);
  classSelect.addEventListener('change', guard(explainCurrent));
  layerSelect.addEventListener(
    'change',
    guard(async () => {
      await loadExplainer(layerSelect.value);
      await explainCurrent();
    }),
  );
  fillSelect(modelSelect, BUNDLED_MODELS.map((m) => [m.id, m.label]), BUNDLED_MODELS[0].id);
  modelSelect.addEventListener(
    'change',
    guard(async () => {
      const bundled = BUNDLED_MODELS.find((m) => m.id === modelSelect.value);
      if (!bundled) return; // the dropped model stays loaded
      modelSelect.querySelector('option[value="dropped"]')?.remove();
      state.model = bundled.url;
      state.modelName = bundled.label;
      state.metadata = bundled.metadata;
      await loadExplainer();
      await explainCurrent();
    }),
  );
  $<HTMLInputElement>('file').addEventListener(
    'change',
    guard(async () => {
      const files = $<HTMLInputElement>('file').files;
      if (files && files.length > 0) await useFiles(files);
    }),
  );
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    if (event.dataTransfer?.files.length) guard(() => useFiles(event.dataTransfer!.files))();
  });
  $('webcam').addEventListener(
    'click',
    guard(async () => {
      stopLive();
      await openWebcam(video);
      startLive();
    }),
  );
  $('stop').addEventListener('click', stopLive);
  $('export-png').addEventListener(
    'click',
    guard(async () => {
      const canvas = views.querySelector('canvas');
      if (!canvas || !state.results[0]) throw new Error('nothing to export yet');
      await downloadCanvasPng(canvas, `${state.results[0].method}-overlay.png`);
    }),
  );
  $('curves').addEventListener('click', guard(showCurves));
  $('export-npy').addEventListener(
    'click',
    guard(async () => {
      const first = state.results[0];
      if (!first) throw new Error('nothing to export yet');
      downloadBytes(first.toNpy(signed.checked && first.signed), `${first.method}-map.npy`);
    }),
  );
}

async function main(): Promise<void> {
  buildMethodPicker();
  wireControls();
  await loadExplainer();
  $('samples').querySelector('img')?.classList.add('active');
  await useImage(SAMPLE_IMAGES[0].url);
}

main().catch((error: unknown) => {
  setStatus(`Error: ${errorText(error)}`, 'error');
  document.body.dataset.ready = 'error';
});
