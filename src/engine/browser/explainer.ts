/**
 * The embedding API for web pages and imaging viewers:
 *
 *   const explainer = await createExplainer({ model: '/models/digits-resnet.onnx', metadata: '/models/model.json' });
 *   const result = await explainer.explain(bitmap, { method: 'cfcam', classIndex: 3 });
 *   result.drawOverlay(canvas, { colormap: 'jet', opacity: 0.5 });   // or result.texture / .buffer / .toFloat32Array()
 *   explainer.dispose();
 *
 * The model runs in ONNX Runtime Web (its wasm EP: it needs no GPU and, on software WebGPU,
 * beats the WebGPU EP); the CAM runs on the GPU engine, or on the CPU reference where the
 * browser has no WebGPU (`explainer.backend` says which, `fallbackReason` why).
 *
 * Requests queue: any number may be in flight; they run one after another in call order (a
 * request can be cancelled with an AbortSignal while it waits). `dispose()` waits for the one
 * running, rejects the waiting ones, and frees the model sessions, the GPU context (pipelines,
 * pooled buffers, and the device if the explainer made it) and every result's buffer/texture.
 */
import { createCamEngine, type CamEngine } from '../engine.js';
import { DisposedError, ExplainAbortedError, GpuUnavailableError, InvalidOptionError } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import { ModelExplainer, type ModelMetadata } from '../model/explainer.js';
import { parseModelMetadata } from '../model/metadata-parse.js';
import type { OrtModule } from '../model/session.js';
import type { CandidateLayer } from '../model/types.js';
import { type CamOptions } from '../types.js';
import type { CamMethod } from '../methods/registry.js';
import { CAM_METHODS, isCamMethod } from '../methods/registry.js';
import { CamExplanation } from './result.js';
import { readPixels, type ImageSource, type Region } from './sources.js';

export interface CreateExplainerOptions {
  /** The ONNX classifier: its bytes, or a URL to fetch. */
  model: Uint8Array | ArrayBuffer | string | URL;
  /** Metadata (normalisation, class names, default layer): an object, or the URL of a model.json. */
  metadata?: ModelMetadata | string | URL;
  /** Target layer (a node output name); default the metadata's feature layer, else the deepest candidate. */
  layer?: string;
  /** 'auto' (default): the GPU when WebGPU works, else the CPU reference; 'gpu' fails without WebGPU. */
  backend?: 'auto' | 'gpu' | 'cpu';
  /** Run the CAM kernels on this context (shares its device; it is not disposed by the explainer). */
  context?: GpuContext;
  /** The ONNX Runtime Web module, with `env.wasm.wasmPaths` set for your bundler (see README). */
  ort?: OrtModule;
  /** wasm EP threads (needs cross-origin isolation for more than 1). */
  numThreads?: number;
}

export interface ExplainOptions {
  /** Any engine method (default 'cfcam'). */
  method?: CamMethod;
  /** Class to explain; default the top-1 prediction. */
  classIndex?: number;
  /** Explain only this rectangle of the source (source pixels), e.g. a viewer's viewport. */
  region?: Region;
  /** Method options (CF-CAM mode, ClusCAM K, Score-CAM batch size, ...). */
  camOptions?: CamOptions;
  /** Cancel the request while it waits in the queue. */
  signal?: AbortSignal;
}

async function fetchBytes(url: string | URL, what: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new InvalidOptionError(`could not fetch the ${what} at ${String(url)}: HTTP ${response.status}`);
  return response;
}

async function modelBytes(model: CreateExplainerOptions['model']): Promise<Uint8Array> {
  if (model instanceof Uint8Array) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  if (typeof model === 'string' || model instanceof URL) return new Uint8Array(await (await fetchBytes(model, 'model')).arrayBuffer());
  throw new InvalidOptionError('model must be ONNX bytes (Uint8Array / ArrayBuffer) or a URL');
}

async function modelMetadata(metadata: CreateExplainerOptions['metadata']): Promise<ModelMetadata> {
  if (metadata === undefined) return {};
  if (typeof metadata === 'string' || metadata instanceof URL) {
    return parseModelMetadata((await (await fetchBytes(metadata, 'model metadata')).json()) as Record<string, unknown>);
  }
  return metadata;
}

async function createEngine(options: CreateExplainerOptions): Promise<{ engine: CamEngine; fallbackReason?: string }> {
  const backend = options.backend ?? 'auto';
  if (!['auto', 'gpu', 'cpu'].includes(backend)) throw new InvalidOptionError(`backend must be 'auto', 'gpu' or 'cpu', got '${backend}'`);
  if (backend === 'cpu') return { engine: await createCamEngine({ backend: 'cpu' }) };
  try {
    return { engine: await createCamEngine({ context: options.context }) };
  } catch (error) {
    if (backend === 'gpu' || !(error instanceof GpuUnavailableError)) throw error;
    return { engine: await createCamEngine({ backend: 'cpu' }), fallbackReason: error.message };
  }
}

const cancelledError = () => new ExplainAbortedError('the explanation was cancelled before it ran');

export class Explainer {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private disposed = false;
  private disposing?: Promise<void>;
  private readonly results = new Set<CamExplanation>();

  private constructor(
    private readonly model: ModelExplainer,
    private readonly engine: CamEngine,
    private readonly ownsEngine: boolean,
    readonly metadata: ModelMetadata,
    /** Why the CPU reference runs instead of the GPU (undefined on the GPU). */
    readonly fallbackReason: string | undefined,
  ) {}

  static async create(options: CreateExplainerOptions): Promise<Explainer> {
    const [bytes, metadata] = await Promise.all([modelBytes(options.model), modelMetadata(options.metadata)]);
    const { engine, fallbackReason } = await createEngine(options);
    try {
      const model = await ModelExplainer.create({ model: bytes, layer: options.layer, metadata, engine, ort: options.ort, numThreads: options.numThreads });
      return new Explainer(model, engine, !options.context, metadata, fallbackReason);
    } catch (error) {
      if (!options.context) engine.dispose();
      throw error;
    }
  }

  /** 'gpu' or 'cpu' (the CPU reference, when WebGPU is missing or was not asked for). */
  get backend(): 'gpu' | 'cpu' {
    return this.engine.backend;
  }
  get adapterName(): string {
    return this.engine.adapterName;
  }
  /** The GPU device results' buffers and textures live on (undefined on the CPU backend). */
  get device(): GPUDevice | undefined {
    return this.engine.gpu?.device;
  }
  get layer(): string {
    return this.model.layer;
  }
  /** Layers that can be explained, deepest first (for a layer picker). */
  get candidates(): CandidateLayer[] {
    return this.model.candidates;
  }
  /** The model's input size [height, width] (= the map's size). */
  get inputSize(): [number, number] {
    return this.model.inputSize;
  }
  /** A Soft-CAM model's class-evidence map (what method 'softcam' explains), else undefined. */
  get evidenceLayer(): string | undefined {
    return this.model.evidenceLayer;
  }
  get classNames(): string[] | undefined {
    return this.metadata.classNames;
  }
  /** Requests waiting or running. */
  get pending(): number {
    return this.waiting;
  }

  /**
   * Explain `source` (or `options.region` of it). Its pixels are read now, so the source may
   * change (a video plays on, a bitmap is closed) while the request waits; requests run one at a
   * time, in call order.
   */
  explain(source: ImageSource, options: ExplainOptions = {}): Promise<CamExplanation> {
    if (this.disposed) return Promise.reject(new DisposedError('explain() after dispose(): create a new explainer'));
    const method = options.method ?? 'cfcam';
    if (!isCamMethod(method)) {
      return Promise.reject(new InvalidOptionError(`unknown method '${method}'; choose one of ${CAM_METHODS.join(', ')}`));
    }
    let pixels: ReturnType<typeof readPixels>;
    try {
      pixels = readPixels(source, options.region);
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(cancelledError());
    this.waiting++;
    let started = false;
    const run = this.tail.then(() => {
      started = true;
      return this.run(pixels, { ...options, method });
    });
    this.tail = run.catch(() => undefined);
    // A cancelled request rejects at once; if it has not started by then, it never runs (run() checks the signal).
    const cancelled = new Promise<never>((_, reject) => {
      signal?.addEventListener('abort', () => {
        if (!started) reject(cancelledError());
      }, { once: true });
    });
    return Promise.race([run, cancelled]).finally(() => this.waiting--);
  }

  private async run(pixels: ReturnType<typeof readPixels>, options: ExplainOptions & { method: CamMethod }): Promise<CamExplanation> {
    if (this.disposed) throw new DisposedError('the explainer was disposed while this request waited');
    if (options.signal?.aborted) throw cancelledError();
    const started = performance.now();
    const { image, region } = pixels;
    const e = await this.model.explain(image, { method: options.method, classIndex: options.classIndex, camOptions: options.camOptions });
    const totalMs = performance.now() - started;
    const result = new CamExplanation(
      { ...e, method: options.method, region, timings: { ...e.timings, totalMs } },
      this.engine.gpu,
      (r) => this.results.delete(r),
    );
    this.results.add(result);
    return result;
  }

  /**
   * Wait for the running request, reject the waiting ones, and free every GPU resource (the
   * results' buffers and textures, pipelines, pooled buffers, the device if the explainer made
   * it) and the model sessions. Results already returned keep their host data (maps, top-5).
   */
  dispose(): Promise<void> {
    this.disposing ??= this.disposeNow();
    return this.disposing;
  }

  private async disposeNow(): Promise<void> {
    this.disposed = true;
    await this.tail;
    try {
      for (const result of [...this.results]) result.releaseGpu();
      await this.model.dispose();
    } finally {
      if (this.ownsEngine) this.engine.dispose();
    }
  }
}

/** Create an explainer for a model (see Explainer). */
export function createExplainer(options: CreateExplainerOptions): Promise<Explainer> {
  return Explainer.create(options);
}
