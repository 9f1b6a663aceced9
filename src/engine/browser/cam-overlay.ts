/**
 * `<cam-overlay>`: an image with its class activation map drawn over it, for plain pages.
 *
 *   <cam-overlay src="scan.png" model="model.onnx" metadata="model.json"
 *                method="cfcam" colormap="jet" opacity="0.5"></cam-overlay>
 *
 * Attributes: src, model (required); metadata, layer, method (default cfcam), class (default
 * top-1), colormap (jet | turbo | viridis | inferno | diverging), opacity (0..1, default 0.5),
 * threshold (0..1). Changing src/model/metadata/layer/method/class explains again; changing the
 * display attributes only redraws. Elements with the same model, metadata and layer share one
 * explainer (requests queue). Events: `explained` (detail: the CamExplanation) and `error`
 * (detail: the Error, also shown in the element). `element.result` is the latest explanation.
 *
 * Call `defineCamOverlay(ort?)` once to register the element (it needs ONNX Runtime Web: pass
 * the module configured for your bundler, or let the engine load `onnxruntime-web/webgpu`).
 */
import type { Colormap } from '../display/colormaps.js';
import type { OrtModule } from '../model/session.js';
import type { CamMethod } from '../methods/registry.js';
import { createExplainer, type Explainer } from './explainer.js';
import type { CamExplanation } from './result.js';

const EXPLAIN_ATTRIBUTES = ['src', 'model', 'metadata', 'layer', 'method', 'class'];
const DRAW_ATTRIBUTES = ['colormap', 'opacity', 'threshold'];

let ortModule: OrtModule | undefined;
const explainers = new Map<string, Promise<Explainer>>();

function sharedExplainer(model: string, metadata: string | null, layer: string | null): Promise<Explainer> {
  const key = JSON.stringify([model, metadata, layer]);
  let explainer = explainers.get(key);
  if (!explainer) {
    explainer = createExplainer({ model, metadata: metadata ?? undefined, layer: layer ?? undefined, ort: ortModule });
    explainers.set(key, explainer);
    // A failed load is not cached: the next element (or a retry) tries again.
    explainer.catch(() => explainers.delete(key));
  }
  return explainer;
}

async function loadImage(src: string): Promise<HTMLImageElement> {
  const image = new Image();
  image.crossOrigin = 'anonymous';
  image.src = src;
  await image.decode();
  return image;
}

export class CamOverlayElement extends HTMLElement {
  static observedAttributes = [...EXPLAIN_ATTRIBUTES, ...DRAW_ATTRIBUTES];

  private readonly canvas = document.createElement('canvas');
  private readonly message = document.createElement('div');
  private image?: HTMLImageElement;
  private latest?: CamExplanation;
  private generation = 0;
  private scheduled = false;

  constructor() {
    super();
    const shadow = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = ':host{display:inline-block;position:relative} canvas{display:block;max-width:100%} div{font:12px system-ui,sans-serif;color:#a00}';
    shadow.append(style, this.canvas, this.message);
  }

  /** The latest explanation (undefined until the first `explained` event). */
  get result(): CamExplanation | undefined {
    return this.latest;
  }

  connectedCallback(): void {
    this.schedule();
  }

  attributeChangedCallback(name: string, previous: string | null, value: string | null): void {
    if (previous === value) return;
    if (EXPLAIN_ATTRIBUTES.includes(name)) this.schedule();
    else this.draw();
  }

  disconnectedCallback(): void {
    this.generation++;
    this.latest?.dispose();
    this.latest = undefined;
  }

  private schedule(): void {
    // Several attributes set in one task explain once.
    if (this.scheduled || !this.isConnected) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.explain();
    });
  }

  private async explain(): Promise<void> {
    const src = this.getAttribute('src');
    const model = this.getAttribute('model');
    if (!src || !model) return;
    const generation = ++this.generation;
    try {
      const [explainer, image] = await Promise.all([
        sharedExplainer(model, this.getAttribute('metadata'), this.getAttribute('layer')),
        loadImage(src),
      ]);
      if (generation !== this.generation) return; // superseded while loading: do not queue work
      const classText = this.getAttribute('class');
      const result = await explainer.explain(image, {
        method: (this.getAttribute('method') ?? 'cfcam') as CamMethod,
        classIndex: classText === null || classText === '' ? undefined : Number(classText),
      });
      if (generation !== this.generation) {
        result.dispose(); // superseded by a newer request
        return;
      }
      this.latest?.dispose();
      this.latest = result;
      this.image = image;
      this.message.textContent = '';
      this.draw();
      this.dispatchEvent(new CustomEvent('explained', { detail: result }));
    } catch (error) {
      if (generation !== this.generation) return;
      this.message.textContent = error instanceof Error ? error.message : String(error);
      this.dispatchEvent(new CustomEvent('error', { detail: error }));
    }
  }

  private draw(): void {
    if (!this.image || !this.latest) return;
    const { naturalWidth: width, naturalHeight: height } = this.image;
    this.canvas.width = width;
    this.canvas.height = height;
    const ctx = this.canvas.getContext('2d')!;
    ctx.drawImage(this.image, 0, 0);
    const number = (name: string, fallback: number) => {
      const text = this.getAttribute(name);
      return text === null || text === '' ? fallback : Number(text);
    };
    try {
      this.latest.drawOverlay(this.canvas, {
        colormap: (this.getAttribute('colormap') ?? 'jet') as Colormap,
        opacity: number('opacity', 0.5),
        threshold: number('threshold', 0),
      });
    } catch (error) {
      this.message.textContent = error instanceof Error ? error.message : String(error);
    }
  }
}

/**
 * Free the explainers the elements share (model sessions, GPU devices). Elements explain again
 * (with new explainers) when their attributes change.
 */
export async function disposeCamOverlays(): Promise<void> {
  const all = [...explainers.values()];
  explainers.clear();
  await Promise.all(all.map(async (e) => (await e.catch(() => undefined))?.dispose()));
}

/** Register `<cam-overlay>` (once; later calls only change the ORT module of explainers made from then on). */
export function defineCamOverlay(ort?: OrtModule): void {
  ortModule = ort ?? ortModule;
  if (!customElements.get('cam-overlay')) customElements.define('cam-overlay', CamOverlayElement);
}
