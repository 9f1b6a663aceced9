/**
 * From image to explanation: pre-processing, one run of the gradient model (logits, the target
 * layer's activations and d logit[class] / d activations), then any engine CAM method.
 *
 * This is the host-array pipeline used by Node (ONNX Runtime's wasm EP) and as the browser
 * fallback: the model's outputs come back as arrays and the engine uploads them once. The
 * browser's zero-copy path binds ORT's GPU outputs directly (see session.ts, encodeCam).
 */
import { listCandidateLayers } from './candidates.js';
import { buildGradientModel } from './gradient-graph.js';
import { createModelSession, type ModelSession, type OrtModule } from './session.js';
import { IMAGENET_MEAN, IMAGENET_STD, preprocessCpu } from '../reference/preprocess.js';
import type { CamEngine } from '../engine.js';
import type { CamMethod, CamOptions, CfcamDetails } from '../types.js';
import type { RgbaImage } from '../overlay.js';
import type { CandidateLayer, GradientModel } from './types.js';
import { InvalidOptionError } from '../errors.js';

/** What a model needs besides its weights; shipped as JSON next to the bundled model. */
export interface ModelMetadata {
  mean?: [number, number, number];
  std?: [number, number, number];
  classNames?: string[];
  /** The layer to explain by default (else the deepest candidate). */
  featureLayer?: string;
}

export interface ExplainerOptions {
  /** ONNX model bytes (a classifier whose first output is the logits). */
  model: Uint8Array;
  /** Target layer (a node output name); default metadata.featureLayer, else the deepest candidate. */
  layer?: string;
  metadata?: ModelMetadata;
  /** The CAM engine (GPU or CPU reference). */
  engine: CamEngine;
  /** ONNX Runtime module to use (default: loaded by session.ts). */
  ort?: OrtModule;
  numThreads?: number;
}

export interface ClassScore {
  index: number;
  name?: string;
  logit: number;
  probability: number;
}

export interface Explanation {
  /** The explained class (top-1 unless one was asked for). */
  classIndex: number;
  className?: string;
  top5: ClassScore[];
  /** The map at the model's input size, row-major, values in [0,1]. */
  map: Float32Array;
  width: number;
  height: number;
  /** Milliseconds: pre-processing, the model run, the CAM (engine) step. */
  timings: { preprocessMs: number; modelMs: number; camMs: number };
  /** GPU stage times of the CAM step (GPU engine only). */
  stageMs: Record<string, number>;
  cfcam?: CfcamDetails;
}

export interface ExplainRequest {
  method?: CamMethod;
  /** Class to explain; default the top-1 prediction. */
  classIndex?: number;
  camOptions?: CamOptions;
}

function softmaxTop(logits: Float32Array, count: number, names?: string[]): ClassScore[] {
  const top = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return Array.from(logits, (logit, index) => ({ index, name: names?.[index], logit, probability: exps[index] / total }))
    .sort((a, b) => b.logit - a.logit)
    .slice(0, count);
}

export class ModelExplainer {
  private constructor(
    readonly gradientModel: GradientModel,
    readonly layer: string,
    readonly candidates: CandidateLayer[],
    private readonly session: ModelSession,
    private readonly engine: CamEngine,
    private readonly metadata: ModelMetadata,
  ) {}

  /** Build the gradient model for the layer and open its session. */
  static async create(options: ExplainerOptions): Promise<ModelExplainer> {
    const candidates = listCandidateLayers(options.model);
    const metadata = options.metadata ?? {};
    const layer = options.layer ?? metadata.featureLayer ?? candidates[0]?.name;
    if (!layer) throw new InvalidOptionError('the model has no 4-D feature layer on the path to its logits to explain');
    const gradientModel = buildGradientModel(options.model, { target: layer });
    const session = await createModelSession(gradientModel.bytes, { ort: options.ort, numThreads: options.numThreads });
    return new ModelExplainer(gradientModel, layer, candidates, session, options.engine, metadata);
  }

  /** The model's input size [height, width]. */
  get inputSize(): [number, number] {
    const shape = this.gradientModel.inputShape;
    return [shape[2], shape[3]];
  }

  async explain(image: RgbaImage, request: ExplainRequest = {}): Promise<Explanation> {
    const gm = this.gradientModel;
    const method = request.method ?? 'cfcam';
    const [height, width] = this.inputSize;
    if (request.classIndex !== undefined && !(Number.isInteger(request.classIndex) && request.classIndex >= 0 && request.classIndex < gm.numClasses)) {
      throw new InvalidOptionError(`class ${request.classIndex} is out of range: the model has ${gm.numClasses} classes (0..${gm.numClasses - 1})`);
    }

    let started = performance.now();
    const { data } = preprocessCpu(image, {
      size: [height, width],
      mean: this.metadata.mean ?? IMAGENET_MEAN,
      std: this.metadata.std ?? IMAGENET_STD,
    });
    const preprocessMs = performance.now() - started;

    started = performance.now();
    // A negative class index makes the graph explain its own top-1 class: one run.
    const classFeed = { data: BigInt64Array.from([BigInt(request.classIndex ?? -1)]), dims: [1] };
    const run = await this.session.run(
      { [gm.inputName]: { data, dims: gm.inputShape }, [gm.classInputName]: classFeed },
      { host: [gm.outputs.logits, gm.outputs.activations, gm.outputs.gradients] },
    );
    let logits: Float32Array;
    let activations: Float32Array;
    let gradients: Float32Array;
    try {
      // Copies: the arrays outlive this run's tensors.
      logits = Float32Array.from(run.host[gm.outputs.logits].data as Float32Array);
      activations = Float32Array.from(run.host[gm.outputs.activations].data as Float32Array);
      gradients = Float32Array.from(run.host[gm.outputs.gradients].data as Float32Array);
    } finally {
      run.dispose();
    }
    const modelMs = performance.now() - started;

    const top5 = softmaxTop(logits, Math.min(5, logits.length), this.metadata.classNames);
    const classIndex = request.classIndex ?? top5[0].index;
    const [, channels, layerHeight, layerWidth] = gm.activationsShape;
    started = performance.now();
    const cam = await this.engine.compute(
      method,
      {
        shape: { batch: 1, channels, height: layerHeight, width: layerWidth, outHeight: height, outWidth: width },
        activations,
        gradients,
      },
      { ...request.camOptions, timing: true },
    );
    const camMs = performance.now() - started;
    return {
      classIndex,
      className: this.metadata.classNames?.[classIndex],
      top5,
      map: cam.maps,
      width,
      height,
      timings: { preprocessMs, modelMs, camMs },
      stageMs: cam.stageMs,
      cfcam: cam.cfcam,
    };
  }

  /** The model session's counters (runs, live ORT tensors and uploads), for leak checks. */
  stats(): ReturnType<ModelSession['stats']> {
    return this.session.stats();
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
