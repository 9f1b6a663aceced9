/**
 * From image to explanation: pre-processing, one run of the gradient model (logits, the target
 * layer's activations and d logit[class] / d activations), then any engine CAM method.
 *
 * This is the host-array pipeline used by Node (ONNX Runtime's wasm EP) and as the browser
 * fallback: the model's outputs come back as arrays and the engine uploads them once. The
 * browser's zero-copy path binds ORT's GPU outputs directly (see session.ts, encodeCam).
 *
 * Score-CAM and ClusCAM also run the plain classifier on masked copies of the normalised input:
 * the engine calls back into a MaskedScorer built here, backed by a second ORT session of the
 * classifier with a symbolic batch (batched-model.ts), opened on first use.
 */
import { listCandidateLayers } from './candidates.js';
import { buildGradientModel } from './gradient-graph.js';
import { createModelSession, type ModelSession, type OrtModule } from './session.js';
import { IMAGENET_MEAN, IMAGENET_STD, preprocessCpu } from './preprocess-cpu.js';
import type { CamEngine } from '../engine.js';
import type { CamOptions, MaskedScorer, MethodDetails } from '../types.js';
import type { CamMethod } from '../methods/registry.js';
import { methodDefinition } from '../methods/registry.js';
import { BatchedClassifier } from './batched-model.js';
import type { RgbaImage } from '../display/overlay.js';
import type { CandidateLayer, GradientModel } from './types.js';
import { InvalidOptionError } from '../errors.js';

/** What a model needs besides its weights; shipped as JSON next to the bundled model. */
export interface ModelMetadata {
  mean?: [number, number, number];
  std?: [number, number, number];
  classNames?: string[];
  /** The layer to explain by default (else the deepest candidate). */
  featureLayer?: string;
  /** Soft-CAM models: the class-evidence map tensor [1, classes, h, w] (method 'softcam' explains it). */
  evidenceOutput?: string;
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

/** One image's explanation: the map, the class scores, timings and the method's details. */
export interface Explanation extends MethodDetails {
  /** The explained class (top-1 unless one was asked for). */
  classIndex: number;
  className?: string;
  top5: ClassScore[];
  /** The map at the model's input size, row-major, values in [0,1]. */
  map: Float32Array;
  width: number;
  height: number;
  /**
   * Milliseconds: pre-processing, the model run, the CAM (engine) step. Score-CAM and ClusCAM
   * run the model on masked inputs inside the CAM step: `scoreMs` is that part of camMs.
   */
  timings: { preprocessMs: number; modelMs: number; camMs: number; scoreMs?: number };
  /** GPU stage times of the CAM step (GPU engine only). */
  stageMs: Record<string, number>;
  /** Methods with a signed map (Soft-CAM's evidence): that map at the model's input size, not normalised. */
  signedMap?: Float32Array;
  /** Soft-CAM: the class-evidence map A_c itself at the layer's resolution [height * width], signed; its mean is the logit. */
  evidence?: { data: Float32Array; height: number; width: number };
}

export interface ExplainRequest {
  method?: CamMethod;
  /** Class to explain; default the top-1 prediction. */
  classIndex?: number;
  /** Method options, e.g. `scoreBatchSize` (masked inputs per model run) and `cluscam` for ClusCAM. */
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

/**
 * A Soft-CAM model's class-evidence map: the metadata's `evidenceOutput`, else a candidate layer
 * with 'evidence' in its name and one channel per class. Other models have none.
 */
export function findEvidenceLayer(candidates: readonly CandidateLayer[], metadata: ModelMetadata, numClasses: number): string | undefined {
  const perClass = (c: CandidateLayer) => c.shape[1] === numClasses;
  if (metadata.evidenceOutput) {
    const named = candidates.find((c) => c.name === metadata.evidenceOutput);
    if (!named || !perClass(named)) {
      throw new InvalidOptionError(
        `the model metadata's evidence output '${metadata.evidenceOutput}' is ${named ? `[${named.shape.join(',')}], not one map per class (${numClasses})` : 'not a 4-D layer on the path to the logits'}: fix evidence_output in model.json`,
      );
    }
    return named.name;
  }
  return candidates.find((c) => /evidence/i.test(c.name) && perClass(c))?.name;
}

export class ModelExplainer {
  private constructor(
    readonly gradientModel: GradientModel,
    readonly layer: string,
    readonly candidates: CandidateLayer[],
    private readonly session: ModelSession,
    private readonly engine: CamEngine,
    private readonly metadata: ModelMetadata,
    /** Score-CAM / ClusCAM: the plain classifier on masked inputs (its session opens on first use). */
    private readonly classifier: BatchedClassifier,
    /** Soft-CAM models: the class-evidence map (method 'softcam' explains it); undefined for other models. */
    readonly evidenceLayer: string | undefined,
  ) {}

  /** Build the gradient model for the layer and open its session. */
  static async create(options: ExplainerOptions): Promise<ModelExplainer> {
    const candidates = listCandidateLayers(options.model);
    const metadata = options.metadata ?? {};
    const layer = options.layer ?? metadata.featureLayer ?? candidates[0]?.name;
    if (!layer) throw new InvalidOptionError('the model has no 4-D feature layer on the path to its logits to explain');
    const gradientModel = buildGradientModel(options.model, { target: layer });
    const session = await createModelSession(gradientModel.bytes, { ort: options.ort, numThreads: options.numThreads });
    const classifier = new BatchedClassifier({
      model: options.model,
      inputName: gradientModel.inputName,
      inputShape: gradientModel.inputShape,
      logitsName: gradientModel.outputs.logits,
      numClasses: gradientModel.numClasses,
      ort: options.ort,
      numThreads: options.numThreads,
    });
    const evidenceLayer = findEvidenceLayer(candidates, metadata, gradientModel.numClasses);
    return new ModelExplainer(gradientModel, layer, candidates, session, options.engine, metadata, classifier, evidenceLayer);
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
    const definition = methodDefinition(method);
    if (definition.capabilities.evidenceLayer && this.layer !== this.evidenceLayer) {
      throw new InvalidOptionError(
        this.evidenceLayer
          ? `${method} explains the model's class-evidence map '${this.evidenceLayer}', but this explainer is on layer '${this.layer}': choose that layer`
          : `${method} needs a Soft-CAM model: a class-evidence map [1, ${gm.numClasses}, h, w] whose spatial mean is the logits, named by model.json's evidence_output or with 'evidence' in its name; this model has none (try models/softcam)`,
      );
    }
    // The method's options are checked against the layer before the model runs.
    const [, layerChannels, layerRows, layerColumns] = gm.activationsShape;
    definition.validateOptions?.(request.camOptions ?? {}, { batch: 1, channels: layerChannels, height: layerRows, width: layerColumns });

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
    // Gradient-free methods (Eigen-CAM, Score-CAM, ClusCAM, Soft-CAM) do not fetch the gradients.
    const needsGradients = definition.capabilities.gradients;
    const run = await this.session.run(
      { [gm.inputName]: { data, dims: gm.inputShape }, [gm.classInputName]: classFeed },
      { host: needsGradients ? [gm.outputs.logits, gm.outputs.activations, gm.outputs.gradients] : [gm.outputs.logits, gm.outputs.activations] },
    );
    let logits: Float32Array;
    let activations: Float32Array;
    let gradients: Float32Array | undefined;
    try {
      // Copies: the arrays outlive this run's tensors.
      logits = Float32Array.from(run.host[gm.outputs.logits].data as Float32Array);
      activations = Float32Array.from(run.host[gm.outputs.activations].data as Float32Array);
      if (needsGradients) gradients = Float32Array.from(run.host[gm.outputs.gradients].data as Float32Array);
    } finally {
      run.dispose();
    }
    const modelMs = performance.now() - started;

    const top5 = softmaxTop(logits, Math.min(5, logits.length), this.metadata.classNames);
    const classIndex = request.classIndex ?? top5[0].index;
    const [, channels, layerHeight, layerWidth] = gm.activationsShape;
    // Score-CAM and ClusCAM: the model on masked copies of the normalised input, in batches.
    let scoreMs = 0;
    const classifier = this.classifier;
    const scorer: MaskedScorer | undefined = definition.capabilities.scorer
      ? {
          inputs: data,
          classIndices: Int32Array.of(classIndex),
          baseLogits: Float32Array.of(logits[classIndex]),
          async score(masked, count) {
            const t0 = performance.now();
            try {
              return await classifier.classLogits(masked, count, classIndex);
            } finally {
              scoreMs += performance.now() - t0;
            }
          },
        }
      : undefined;
    started = performance.now();
    const cam = await this.engine.compute(
      method,
      {
        shape: { batch: 1, channels, height: layerHeight, width: layerWidth, outHeight: height, outWidth: width },
        activations,
        gradients,
        classIndices: Int32Array.of(classIndex),
        scorer,
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
      timings: scorer ? { preprocessMs, modelMs, camMs, scoreMs } : { preprocessMs, modelMs, camMs },
      stageMs: cam.stageMs,
      cfcam: cam.cfcam,
      cluscam: cam.cluscam,
      signedMap: cam.signedMaps,
      evidence:
        definition.capabilities.evidenceLayer
          ? { data: activations.slice(classIndex * layerHeight * layerWidth, (classIndex + 1) * layerHeight * layerWidth), height: layerHeight, width: layerWidth }
          : undefined,
    };
  }

  /** The model session's counters (runs, live ORT tensors and uploads), for leak checks. */
  stats(): ReturnType<ModelSession['stats']> {
    return this.session.stats();
  }

  async dispose(): Promise<void> {
    await this.classifier.dispose();
    await this.session.dispose();
  }
}
