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
import { listCandidateLayers, requireCandidateLayers } from './candidates.js';
import { buildGradientModel } from './gradient-graph.js';
import { createModelSession, type ModelSession, type OrtModule } from './session.js';
import { IMAGENET_MEAN, IMAGENET_STD, preprocessCpu } from './preprocess-cpu.js';
import type { CamEngine } from '../engine.js';
import type { CamOptions, CfcamDetails, CluscamDetails, MaskedScorer, MethodDetails } from '../types.js';
import type { CamMethod } from '../methods/registry.js';
import { methodDefinition } from '../methods/registry.js';
import { BatchedClassifier, makeStaticBatch } from './batched-model.js';
import type { RgbaImage } from '../display/overlay.js';
import type { CandidateLayer, GradientModel } from './types.js';
import { InvalidOptionError } from '../errors.js';
import type { ReshapeTransformOption } from './reshape-transform.js';
import { prepareModelBytes, withGraphOutput, type InputLayout, type PreparedInput } from './prepare.js';
import type { ExplainedScore } from './head.js';
import { ModelFormatError, NoCandidateLayerError } from './errors.js';

/** What a model needs besides its weights; shipped as JSON next to the bundled model. */
export interface ModelMetadata {
  mean?: [number, number, number];
  std?: [number, number, number];
  classNames?: string[];
  /** The layer to explain by default (else the deepest candidate). */
  featureLayer?: string;
  /** Soft-CAM models: the class-evidence map tensor [1, classes, h, w] (method 'softcam' explains it). */
  evidenceOutput?: string;
  /** Input height and width for models whose H/W are dynamic. */
  inputSize?: [number, number];
  /** The image input's layout when detection would guess wrong. */
  inputLayout?: InputLayout;
  /** The graph output holding the class scores (default: the first 2-D float output). */
  output?: string;
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
  /**
   * Transformer layers: how the layer becomes the [1, D, h, w] map the CAM methods need (tokens
   * with the class token dropped, channels-last transposed); default 'auto', from the shape.
   */
  reshapeTransform?: ReshapeTransformOption;
  /** Height/width for a model with dynamic H/W (default metadata.inputSize; required for such models). */
  inputSize?: [number, number];
  /** The image input's layout (default metadata.inputLayout, else detected). */
  inputLayout?: InputLayout;
  /** The graph output read as class scores (default metadata.output, else the first 2-D float output). */
  output?: string;
  /**
   * What gradient methods explain when the output ends in Softmax / LogSoftmax / Sigmoid: the
   * pre-activation logits (default) or the class probability.
   */
  explain?: ExplainedScore;
  /**
   * Images per model run for explainBatch (default 1). The model's batch is fixed to it (the
   * gradient graph needs static shapes); a model whose graph pins the batch to 1 falls back to
   * 1, with the reason in `batchFallbackReason`.
   */
  batchSize?: number;
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
  /** Softmax probability of the explained class (also when it is not among the top-5). */
  classProbability: number;
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
  /**
   * The normalised input [1, 3, H, W] to explain instead of the pre-processed image (the
   * metrics' robustness check feeds noisy copies); `image` is then not read.
   */
  input?: Float32Array;
  /** Change the gradients before the CAM step (the robustness check adds noise to them). */
  transformGradients?: (gradients: Float32Array) => Float32Array;
}

/** Top classes by logit; probabilities by softmax, or per class by sigmoid for a Sigmoid (multi-label) head. */
function topClasses(logits: Float32Array, count: number, names?: string[], sigmoid = false): ClassScore[] {
  const top = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - top));
  const total = exps.reduce((a, b) => a + b, 0);
  const probability = (index: number) => (sigmoid ? 1 / (1 + Math.exp(-logits[index])) : exps[index] / total);
  return Array.from(logits, (logit, index) => ({ index, name: names?.[index], logit, probability: probability(index) }))
    .sort((a, b) => b.logit - a.logit)
    .slice(0, count);
}

function classProbability(logits: Float32Array, classIndex: number): number {
  const top = Math.max(...logits);
  let total = 0;
  for (const v of logits) total += Math.exp(v - top);
  return Math.exp(logits[classIndex] - top) / total;
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
    /** Images per run of the gradient model (explainBatch takes up to this many). */
    readonly batchSize: number,
    /** Why the batch size asked for could not be used (the model pins its batch), else undefined. */
    readonly batchFallbackReason: string | undefined,
  ) {}

  /** Build the gradient model for the layer and open its session. */
  static async create(options: ExplainerOptions): Promise<ModelExplainer> {
    const metadata = options.metadata ?? {};
    // Dynamic dims resolved, NHWC fronted by a Transpose, old opsets upgraded: once, for both sessions.
    const prepared = prepareModelBytes(options.model, {
      inputSize: options.inputSize ?? metadata.inputSize,
      inputLayout: options.inputLayout ?? metadata.inputLayout,
    });
    const output = options.output ?? metadata.output;
    const candidates = listCandidateLayers(prepared.bytes, { output });
    const layer = options.layer ?? metadata.featureLayer ?? candidates[0]?.name;
    if (!layer) throw new NoCandidateLayerError(noCandidateReason(prepared.bytes, output));
    const asked = options.batchSize ?? 1;
    if (!(Number.isInteger(asked) && asked >= 1)) throw new InvalidOptionError(`batch size must be a positive integer, got ${asked}`);
    let batchSize = 1;
    let batchFallbackReason: string | undefined;
    let source = prepared.bytes;
    if (asked > 1) {
      const batched = makeStaticBatch(prepared.bytes, asked);
      if (batched.ok) [source, batchSize] = [batched.bytes, asked];
      else batchFallbackReason = batched.reason;
    }
    const gradientModel = buildGradientModel(source, { target: layer, logits: output, explain: options.explain, reshapeTransform: options.reshapeTransform });
    gradientModel.input = prepared.input;
    if (gradientModel.activationsShape.length !== 4) {
      throw new InvalidOptionError(
        `layer '${layer}' is [${gradientModel.activationsShape.join(',')}], not a [N, C, H, W] map: choose reshapeTransform 'tokens' or 'channels-last' (CLI --reshape) or another layer`,
      );
    }
    let session: ModelSession;
    try {
      session = await createModelSession(gradientModel.bytes, { ort: options.ort, numThreads: options.numThreads });
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
      throw new ModelFormatError(`ONNX Runtime could not load the model rewritten for layer '${layer}' (${reason}); try another layer (--layer), or check that ONNX Runtime runs the model itself`);
    }
    const classifier = new BatchedClassifier({
      // Scored methods read the logits, which sit below a Softmax head: make them an output.
      model: withGraphOutput(prepared.bytes, gradientModel.outputs.logits),
      inputName: gradientModel.inputName,
      // The plain classifier scores one image's masked copies: its declared shape is per image.
      inputShape: [1, ...gradientModel.inputShape.slice(1)],
      logitsName: gradientModel.outputs.logits,
      numClasses: gradientModel.numClasses,
      ort: options.ort,
      numThreads: options.numThreads,
    });
    const evidenceLayer = findEvidenceLayer(candidates, metadata, gradientModel.numClasses);
    return new ModelExplainer(gradientModel, layer, candidates, session, options.engine, metadata, classifier, evidenceLayer, batchSize, batchFallbackReason);
  }

  /** How the model's input was resolved: size and its source, layout, dynamic dims, opset. */
  get input(): PreparedInput {
    return this.gradientModel.input;
  }

  /** The output read, its head activation, and whether gradients explain logits or probability. */
  get head(): GradientModel['head'] {
    return this.gradientModel.head;
  }

  /** The model's input size [height, width]. */
  get inputSize(): [number, number] {
    const shape = this.gradientModel.inputShape;
    return [shape[2], shape[3]];
  }

  async explain(image: RgbaImage, request: ExplainRequest = {}): Promise<Explanation> {
    return (await this.explainBatch([image], request))[0];
  }

  /**
   * Explains up to `batchSize` images with one run of the gradient model and one engine call.
   * A short batch is padded with zero images to the model's batch (they are not explained).
   * Each explanation's timings are its share of the batch's: the batch's times divided by its
   * images. The class (request.classIndex, else each image's top-1) applies to every image.
   */
  async explainBatch(images: readonly RgbaImage[], request: ExplainRequest = {}): Promise<Explanation[]> {
    const gm = this.gradientModel;
    const method = request.method ?? 'cfcam';
    const [height, width] = this.inputSize;
    const n = images.length;
    if (n < 1 || n > this.batchSize) throw new InvalidOptionError(`explainBatch takes 1 to ${this.batchSize} images (the explainer's batch size), got ${n}`);
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
    if (gm.head.explained === 'probability' && !definition.capabilities.gradients) {
      throw new InvalidOptionError(`${method} uses no gradients, so explaining the probability does not apply to it; explain the logits (the default) with ${method}`);
    }
    // The method's options are checked against the layer before the model runs.
    const [, layerChannels, layerRows, layerColumns] = gm.activationsShape;
    definition.validateOptions?.(request.camOptions ?? {}, { batch: n, channels: layerChannels, height: layerRows, width: layerColumns });

    let started = performance.now();
    const perImage = 3 * height * width;
    if (request.input && n !== 1) throw new InvalidOptionError('request.input replaces one image: use it with explain(), not with a batch');
    if (request.input && request.input.length !== perImage) throw new InvalidOptionError(`the input has ${request.input.length} values; the model takes 3 x ${height} x ${width}`);
    // The model's whole batch; slots past n stay zero (padding).
    const data = new Float32Array(this.batchSize * perImage);
    for (let i = 0; i < n; i++) data.set(request.input ?? this.preprocess(images[i]), i * perImage);
    const preprocessMs = performance.now() - started;

    started = performance.now();
    // A negative class index makes the graph explain its own top-1 class: one run.
    const classFeed = { data: new BigInt64Array(this.batchSize).fill(BigInt(request.classIndex ?? -1)), dims: [this.batchSize] };
    // Gradient-free methods (Eigen-CAM, Score-CAM, ClusCAM, Soft-CAM) do not fetch the gradients.
    const needsGradients = definition.capabilities.gradients;
    const run = await this.session.run(
      { [gm.inputName]: { data, dims: gm.inputShape }, [gm.classInputName]: classFeed },
      { host: needsGradients ? [gm.outputs.logits, gm.outputs.activations, gm.outputs.gradients] : [gm.outputs.logits, gm.outputs.activations] },
    );
    const [, channels, layerHeight, layerWidth] = gm.activationsShape;
    const perMap = channels * layerHeight * layerWidth;
    let logits: Float32Array;
    let activations: Float32Array;
    let gradients: Float32Array | undefined;
    try {
      // Copies of the real images' part: the arrays outlive this run's tensors.
      logits = (run.host[gm.outputs.logits].data as Float32Array).slice(0, n * gm.numClasses);
      activations = (run.host[gm.outputs.activations].data as Float32Array).slice(0, n * perMap);
      if (needsGradients) gradients = (run.host[gm.outputs.gradients].data as Float32Array).slice(0, n * perMap);
      if (gradients && request.transformGradients) gradients = request.transformGradients(gradients);
    } finally {
      run.dispose();
    }
    const modelMs = performance.now() - started;

    const top5s = Array.from({ length: n }, (_, i) =>
      topClasses(logits.subarray(i * gm.numClasses, (i + 1) * gm.numClasses), Math.min(5, gm.numClasses), this.metadata.classNames, gm.head.activation === 'sigmoid'),
    );
    const classIndices = Int32Array.from(top5s, (top5) => request.classIndex ?? top5[0].index);
    // Score-CAM and ClusCAM: the model on masked copies of the normalised input, in batches.
    let scoreMs = 0;
    const classifier = this.classifier;
    const scorer: MaskedScorer | undefined = definition.capabilities.scorer
      ? {
          inputs: data.subarray(0, n * perImage),
          classIndices,
          baseLogits: Float32Array.from(classIndices, (c, i) => logits[i * gm.numClasses + c]),
          async score(masked, count, image) {
            const t0 = performance.now();
            try {
              return await classifier.classLogits(masked, count, classIndices[image]);
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
        shape: { batch: n, channels, height: layerHeight, width: layerWidth, outHeight: height, outWidth: width },
        activations,
        gradients,
        classIndices,
        scorer,
      },
      { ...request.camOptions, timing: true },
    );
    const camMs = performance.now() - started;
    const share = (ms: number) => ms / n;
    const timings = scorer
      ? { preprocessMs: share(preprocessMs), modelMs: share(modelMs), camMs: share(camMs), scoreMs: share(scoreMs) }
      : { preprocessMs: share(preprocessMs), modelMs: share(modelMs), camMs: share(camMs) };
    const pixels = height * width;
    const evidencePixels = layerHeight * layerWidth;
    return top5s.map((top5, i) => {
      const classIndex = classIndices[i];
      return {
        classIndex,
        className: this.metadata.classNames?.[classIndex],
        classProbability: classProbability(logits.subarray(i * gm.numClasses, (i + 1) * gm.numClasses), classIndex),
        top5,
        map: n === 1 ? cam.maps : cam.maps.slice(i * pixels, (i + 1) * pixels),
        width,
        height,
        timings: { ...timings },
        stageMs: cam.stageMs,
        cfcam: cam.cfcam && (n === 1 ? cam.cfcam : cfcamDetailsOf(cam.cfcam, i, channels)),
        signedMap: cam.signedMaps && (n === 1 ? cam.signedMaps : cam.signedMaps.slice(i * pixels, (i + 1) * pixels)),
        evidence: definition.capabilities.evidenceLayer
          ? { data: activations.slice(i * perMap + classIndex * evidencePixels, i * perMap + (classIndex + 1) * evidencePixels), height: layerHeight, width: layerWidth }
          : undefined,
        cluscam: cam.cluscam && (n === 1 ? cam.cluscam : clusCamDetailsOf(cam.cluscam, i, channels)),
      };
    });
  }

  /** The image as the model takes it: resized and normalised, [1, 3, H, W]. */
  preprocess(image: RgbaImage): Float32Array {
    const [height, width] = this.inputSize;
    return preprocessCpu(image, { size: [height, width], mean: this.normalisation.mean, std: this.normalisation.std }).data;
  }

  /** The normalisation the model expects (its metadata's, else ImageNet's). */
  get normalisation(): { mean: readonly [number, number, number]; std: readonly [number, number, number] } {
    return { mean: this.metadata.mean ?? IMAGENET_MEAN, std: this.metadata.std ?? IMAGENET_STD };
  }

  /** Softmax probabilities of class `classIndex` for `count` normalised inputs [count, 3, H, W], in one batched run. */
  async classProbabilities(inputs: Float32Array, count: number, classIndex: number): Promise<Float32Array> {
    const logits = await this.classifier.logits(inputs, count);
    const classes = this.gradientModel.numClasses;
    return Float32Array.from({ length: count }, (_, j) => {
      const row = logits.subarray(j * classes, (j + 1) * classes);
      const top = Math.max(...row);
      let total = 0;
      for (const v of row) total += Math.exp(v - top);
      return Math.exp(row[classIndex] - top) / total;
    });
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

/** Why a prepared model has no candidate layer (requireCandidateLayers' message). */
function noCandidateReason(bytes: Uint8Array, output: string | undefined): string {
  try {
    requireCandidateLayers(bytes, { output });
  } catch (error) {
    if (error instanceof NoCandidateLayerError) return error.message;
    throw error;
  }
  return 'the model has no 4-D feature layer on the path to its logits to explain';
}

/** Image `i`'s part of a batch's CF-CAM details (per-channel arrays [B*C], per-image [B]). */
function cfcamDetailsOf(d: CfcamDetails, i: number, channels: number): CfcamDetails {
  const perChannel = <T extends Int32Array | Float32Array>(a: T) => a.slice(i * channels, (i + 1) * channels) as T;
  const one = <T extends Int32Array | Float32Array>(a: T) => a.slice(i, i + 1) as T;
  return {
    labels: perChannel(d.labels),
    weights: perChannel(d.weights),
    eps: one(d.eps),
    normThreshold: one(d.normThreshold),
    minSamples: one(d.minSamples),
    clusters: one(d.clusters),
    important: one(d.important),
    noise: one(d.noise),
  };
}

/** Image `i`'s part of a batch's ClusCAM details (per-cluster [B*K], per-channel [B*C], per-image [B]). */
function clusCamDetailsOf(d: CluscamDetails, i: number, channels: number): CluscamDetails {
  const clusters = d.seedChannels.length / d.iterations.length;
  const part = <T extends Int32Array | Float32Array>(a: T, size: number) => a.slice(i * size, (i + 1) * size) as T;
  return {
    seedChannels: part(d.seedChannels, clusters),
    assignments: part(d.assignments, channels),
    deltas: part(d.deltas, clusters),
    alphas: part(d.alphas, clusters),
    iterations: part(d.iterations, 1),
    inertia: part(d.inertia, 1),
  };
}
