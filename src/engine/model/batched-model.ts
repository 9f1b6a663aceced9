/**
 * A classifier that takes a batch: Score-CAM and ClusCAM score tens to thousands of masked
 * copies of the input, and one ONNX Runtime run per batch of them is much cheaper than one run
 * per copy. Exported models often fix the batch to 1 (the bundled digits model does); this
 * rewrites the declared batch dimension of the image input and of the outputs to a symbolic
 * 'batch', after checking that no node on the image's data path pins the batch: a Reshape to a
 * literal shape that does not keep dimension 0, a Flatten at axis 0, a Squeeze / Transpose /
 * reduction / concatenation over axis 0, and the like. Shape subgraphs (Shape -> Gather ->
 * Concat -> Reshape) follow the real batch at run time and are fine. When the check fails the
 * caller runs the original model one copy at a time.
 */
import { attrInt, attrInts, decodeModel, decodeTensor, encodeModel, findAttr, opsetVersion, type GraphProto, type NodeProto, type ValueInfoProto } from './onnx-io.js';
import { inferShapes } from './shapes.js';
import { createModelSession, type ModelSession, type OrtModule } from './session.js';

export type BatchDynamicModel = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

/** Ops that keep the batch apart whatever their attributes (element-wise, convolution, pooling, ...). */
const AXIS_ZERO_OPS = new Set(['Concat', 'Split', 'Gather', 'GatherElements', 'Softmax', 'LogSoftmax', 'Hardmax', 'ArgMax', 'ArgMin', 'CumSum', 'Compress', 'TopK']);
const REDUCE_OPS = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);

function literalValues(graph: GraphProto, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const init = (graph.initializer ?? []).find((t) => t.name === name);
  if (init) return decodeTensor(init).values;
  const node = (graph.node ?? []).find((n) => n.opType === 'Constant' && n.output?.[0] === name);
  const value = node ? findAttr(node, 'value') : undefined;
  if (value?.t) return decodeTensor(value.t).values;
  const ints = node ? findAttr(node, 'value_ints') : undefined;
  return ints?.ints ? attrInts(node!, 'value_ints') : undefined;
}

/** Axes of a node given as attribute (older opsets) or as a literal input (newer ones). */
function axesOf(graph: GraphProto, node: NodeProto, inputIndex: number): number[] | undefined {
  return attrInts(node, 'axes') ?? literalValues(graph, node.input?.[inputIndex]);
}

const touchesBatch = (axes: number[], rank: number | undefined) => axes.some((a) => a === 0 || (rank !== undefined && a + rank === 0));

/**
 * Why `node` (on the image's data path) ties the batch size, or undefined when it does not.
 * `rank` gives a tensor's rank and `perImage` its per-image element count where known.
 */
function pinsBatch(graph: GraphProto, node: NodeProto, opset: number, rank: (name: string) => number | undefined, perImage: (name: string) => number | undefined): string | undefined {
  const op = node.opType ?? '';
  const input = node.input?.[0] ?? '';
  const r = rank(input);
  const where = `${op} node '${node.name || node.output?.[0]}'`;
  switch (op) {
    case 'Reshape': {
      const shape = literalValues(graph, node.input?.[1]);
      if (!shape) return undefined; // computed from Shape at run time
      if (shape[0] === 0 && attrInt(node, 'allowzero', 0) === 0) return undefined;
      const rest = shape.slice(1);
      if (shape[0] === -1 && rest.length > 0 && rest.every((d) => d > 0) && rest.reduce((a, b) => a * b, 1) === perImage(input)) return undefined;
      return `${where} reshapes to the literal shape [${shape.join(',')}]`;
    }
    case 'Flatten':
      return attrInt(node, 'axis', 1) === 0 ? `${where} flattens at axis 0` : undefined;
    case 'Squeeze': {
      const axes = axesOf(graph, node, 1);
      if (!axes) return `${where} squeezes every size-1 axis`;
      return touchesBatch(axes, r) ? `${where} squeezes axis 0` : undefined;
    }
    case 'Transpose': {
      const perm = attrInts(node, 'perm');
      return !perm || perm[0] !== 0 ? `${where} moves the batch axis` : undefined;
    }
    case 'Tile': {
      const repeats = literalValues(graph, node.input?.[1]);
      return !repeats || repeats[0] !== 1 ? `${where} may repeat the batch` : undefined;
    }
    case 'Slice': {
      const axes = literalValues(graph, node.input?.[3]) ?? attrInts(node, 'axes');
      if (!axes) return `${where} slices without explicit axes`;
      return touchesBatch(axes, r) ? `${where} slices axis 0` : undefined;
    }
  }
  if (REDUCE_OPS.has(op)) {
    const axes = opset >= 18 || op === 'ReduceSum' ? axesOf(graph, node, 1) : attrInts(node, 'axes');
    if (!axes) return attrInt(node, 'noop_with_empty_axes', 0) ? undefined : `${where} reduces over every axis`;
    return touchesBatch(axes, r) ? `${where} reduces over axis 0` : undefined;
  }
  if (AXIS_ZERO_OPS.has(op)) {
    const fallback = op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax' ? (opset >= 13 ? -1 : 1) : 0;
    const axis = attrInt(node, 'axis', fallback);
    if (op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax') {
      return opset < 13 || !touchesBatch([axis], r) ? undefined : `${where} works along axis 0`;
    }
    return touchesBatch([axis], r) ? `${where} works along axis 0` : undefined;
  }
  return undefined;
}

/**
 * The model with a symbolic batch dimension on its image input and outputs, or why it cannot
 * be given one. The graph's intermediate value_info (shape hints) is dropped: its batch-1
 * entries would contradict batched runs.
 */
export function makeBatchDynamic(modelBytes: Uint8Array): BatchDynamicModel {
  return rewriteBatch(modelBytes, { dimParam: 'batch' });
}

/**
 * The model with its batch fixed to `batchSize` (image input and outputs), or why the batch
 * cannot be changed: the gradient-graph builder needs static shapes, so a model that explains
 * N images per run is built from this copy.
 */
export function makeStaticBatch(modelBytes: Uint8Array, batchSize: number): BatchDynamicModel {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`makeStaticBatch: batch size ${batchSize} is not a positive integer`);
  return rewriteBatch(modelBytes, { dimValue: batchSize });
}

function rewriteBatch(modelBytes: Uint8Array, batchDim: { dimParam: string } | { dimValue: number }): BatchDynamicModel {
  const model = decodeModel(modelBytes);
  const graph = model.graph!;
  const opset = opsetVersion(model);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const image = (graph.input ?? []).find((i) => !initializers.has(i.name));
  const imageDims = image?.type?.tensorType?.shape?.dim;
  if (!image || !imageDims || imageDims.length === 0) return { ok: false, reason: 'the model has no image input with a known rank' };

  const info = inferShapes(graph);
  const rank = (name: string) => info.shapes.get(name)?.length;
  const perImage = (name: string) => {
    const s = info.shapes.get(name);
    return s && s.length > 0 ? s.slice(1).reduce((a, b) => a * b, 1) : undefined;
  };

  // Tensors that carry image data: descendants of the image input, not through Shape/Size.
  const data = new Set<string>([image.name!]);
  for (const node of graph.node ?? []) {
    if (node.opType === 'Shape' || node.opType === 'Size') continue;
    if (!(node.input ?? []).some((x) => data.has(x))) continue;
    const reason = pinsBatch(graph, node, opset, rank, perImage);
    if (reason) return { ok: false, reason: `${reason}, which ties the batch size` };
    for (const o of node.output ?? []) if (o) data.add(o);
  }

  const symbolic = (v: ValueInfoProto) => {
    const dims = v.type?.tensorType?.shape?.dim;
    if (dims && dims.length > 0) dims[0] = { ...batchDim };
  };
  symbolic(image);
  for (const o of graph.output ?? []) symbolic(o);
  graph.valueInfo = [];
  return { ok: true, bytes: encodeModel(model) };
}

export interface BatchedClassifierOptions {
  /** The plain classifier's ONNX bytes (its first output the logits [N, classes]). */
  model: Uint8Array;
  inputName: string;
  /** The model's declared input shape [1, 3, H, W]. */
  inputShape: readonly number[];
  logitsName: string;
  numClasses: number;
  ort?: OrtModule;
  numThreads?: number;
}

/**
 * Class logits of many inputs at once: a second ORT session of the plain classifier, opened on
 * first use, with a symbolic batch (makeBatchDynamic) so that one run scores a whole chunk of
 * masked inputs; one run per input when the batch cannot be made symbolic.
 */
export class BatchedClassifier {
  private opened?: Promise<{ session: ModelSession; batched: boolean; reason?: string }>;
  private disposed = false;

  constructor(private readonly options: BatchedClassifierOptions) {}

  private open(): Promise<{ session: ModelSession; batched: boolean; reason?: string }> {
    this.opened ??= (async () => {
      const { model, ort, numThreads } = this.options;
      const dynamic = makeBatchDynamic(model);
      if (dynamic.ok) {
        try {
          return { session: await createModelSession(dynamic.bytes, { ort, numThreads }), batched: true };
        } catch (error) {
          const reason = `ONNX Runtime rejected the model with a symbolic batch (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
          return { session: await createModelSession(model, { ort, numThreads }), batched: false, reason };
        }
      }
      return { session: await createModelSession(model, { ort, numThreads }), batched: false, reason: dynamic.reason };
    })();
    // A failed open is not kept: the next call tries again.
    const opened = this.opened;
    opened.catch(() => {
      if (this.opened === opened) this.opened = undefined;
    });
    return opened;
  }

  /** Whether masked inputs go through the model in batches (true) or one at a time, and why not. */
  async mode(): Promise<{ batched: boolean; reason?: string }> {
    const { batched, reason } = await this.open();
    return { batched, reason };
  }

  /** The logits of class `classIndex` for `count` inputs [count, ...inputShape[1:]]. */
  async classLogits(inputs: Float32Array, count: number, classIndex: number): Promise<Float32Array> {
    const all = await this.logits(inputs, count);
    const { numClasses } = this.options;
    return Float32Array.from({ length: count }, (_, j) => all[j * numClasses + classIndex]);
  }

  /** Every class logit of `count` inputs: [count, numClasses] (the metrics take their softmax). */
  async logits(inputs: Float32Array, count: number): Promise<Float32Array> {
    if (this.disposed) throw new Error('BatchedClassifier: logits() after dispose()');
    const perInput = this.options.inputShape.slice(1).reduce((a, b) => a * b, 1);
    if (inputs.length < count * perInput) throw new Error(`BatchedClassifier: ${inputs.length} values for ${count} inputs of ${perInput}`);
    const opened = await this.open();
    if (!opened.batched || count === 1) return this.score(opened.session, inputs, count, opened.batched);
    try {
      return await this.score(opened.session, inputs, count, true);
    } catch (error) {
      // Some graphs pass makeBatchDynamic but pin the batch when they run (a Resize or Expand to
      // literal sizes): from now on, one input per run on the model as it is.
      const reason = `a batched run failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
      await opened.session.dispose();
      const { model, ort, numThreads } = this.options;
      this.opened = createModelSession(model, { ort, numThreads }).then((session) => ({ session, batched: false, reason }));
      return this.score((await this.open()).session, inputs, count, false);
    }
  }

  private async score(session: ModelSession, inputs: Float32Array, count: number, batched: boolean): Promise<Float32Array> {
    const { inputName, inputShape, logitsName, numClasses } = this.options;
    const perInput = inputShape.slice(1).reduce((a, b) => a * b, 1);
    const out = new Float32Array(count * numClasses);
    const runs = batched ? [{ first: 0, n: count }] : Array.from({ length: count }, (_, j) => ({ first: j, n: 1 }));
    for (const { first, n } of runs) {
      const data = n === count ? inputs.subarray(0, count * perInput) : inputs.slice(first * perInput, (first + n) * perInput);
      const run = await session.run({ [inputName]: { data, dims: [n, ...inputShape.slice(1)] } }, { host: [logitsName] });
      try {
        const logits = run.host[logitsName].data as Float32Array;
        if (logits.length !== n * numClasses) throw new Error(`BatchedClassifier: the model returned ${logits.length} logits for ${n} inputs of ${numClasses} classes`);
        out.set(logits, first * numClasses);
      } finally {
        run.dispose();
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const opened = this.opened;
    this.opened = undefined;
    if (opened) await (await opened.catch(() => undefined))?.session.dispose();
  }
}
