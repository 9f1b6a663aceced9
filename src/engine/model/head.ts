/**
 * The classifier's output and its head. Most published classifiers end in Softmax, LogSoftmax
 * or Sigmoid; CAM methods explain the pre-activation logits (as the CAM papers do), so the
 * gradient is seeded below the head by default. Explaining the probability instead seeds
 * d p[c] / d logits, written in closed form (no backward rule for the head op is needed):
 *
 * - Softmax:     d p_c / d z = p_c (e_c - p)
 * - LogSoftmax:  d log p_c / d z = e_c - softmax(z) = e_c - exp(y)
 * - Sigmoid:     d p_c / d z = e_c p_c (1 - p_c)          (per-class, multi-label heads)
 *
 * and for a model without a head, the probability is softmax(logits), added to the graph.
 */
import { ModelFormatError, UnknownLayerError } from './errors.js';
import { attrInt, DataType, type GraphProto, type NodeProto } from './onnx-io.js';
import type { ShapeInfo } from './shapes.js';
import type { GraphBuilder } from './backward/context.js';

export type ExplainedScore = 'logits' | 'probability';
export type HeadActivation = 'softmax' | 'log-softmax' | 'sigmoid';

export interface ClassifierHead {
  /** The graph output read as the class scores. */
  output: string;
  /** The activation that ends the model (none when the output is the logits themselves). */
  activation: HeadActivation | null;
  /** The activation's output (equal to `output` up to Identity nodes). */
  activated?: string;
  /** The pre-activation scores [N, K]: the logits. */
  logits: string;
}

const HEAD_OPS: Record<string, HeadActivation> = { Softmax: 'softmax', LogSoftmax: 'log-softmax', Sigmoid: 'sigmoid' };

const describeOutputs = (graph: GraphProto, info: ShapeInfo) =>
  (graph.output ?? []).map((o) => `${o.name} ${info.shapes.has(o.name!) ? `[${info.shapes.get(o.name!)!.join(',')}]` : '[?]'}`).join(', ');

/** The requested output, else the first 2-D float output. */
export function chooseOutput(graph: GraphProto, info: ShapeInfo, requested?: string): string {
  const outputs = graph.output ?? [];
  if (requested !== undefined) {
    if (!outputs.some((o) => o.name === requested)) {
      throw new UnknownLayerError(`output '${requested}' is not a graph output; outputs are: ${describeOutputs(graph, info)}`);
    }
    const shape = info.shapes.get(requested);
    if (!shape || shape.length !== 2) {
      throw new ModelFormatError(`output '${requested}' must have a static shape [N, classes] (got ${shape ? `[${shape}]` : 'an unknown shape'}); pick a 2-D output: ${describeOutputs(graph, info)}`);
    }
    return requested;
  }
  const found = outputs.find((o) => {
    const elem = o.type?.tensorType?.elemType;
    return (elem === undefined || elem === DataType.FLOAT) && info.shapes.get(o.name!)?.length === 2;
  });
  if (!found) {
    throw new ModelFormatError(`no 2-D float output [N, classes] among the outputs (${describeOutputs(graph, info)}); give the class-score output (CLI: --output NAME)`);
  }
  return found.name!;
}

/** The head that produces `output`: Softmax/LogSoftmax over the class axis or Sigmoid, through Identity nodes. */
export function findHead(graph: GraphProto, info: ShapeInfo, output: string): ClassifierHead {
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  let tensor = output;
  let node = producer.get(tensor);
  while (node?.opType === 'Identity') {
    tensor = node.input![0];
    node = producer.get(tensor);
  }
  const activation = node ? HEAD_OPS[node.opType ?? ''] : undefined;
  if (!node || !activation) return { output, activation: null, logits: output };
  const z = node.input![0];
  const shape = info.shapes.get(z);
  const rank = shape?.length ?? 0;
  // Softmax over the class axis only (axis -1 from opset 13; older graphs were rewritten so).
  if (activation !== 'sigmoid') {
    const axis = attrInt(node, 'axis', -1);
    if (rank !== 2 || (axis !== -1 && axis !== 1)) return { output, activation: null, logits: output };
  }
  if (rank !== 2) return { output, activation: null, logits: output };
  return { output, activation, activated: tensor, logits: z };
}

/**
 * The gradient at the logits that explains `score` of the class given by `onehot` (e_c, [N, K]):
 * e_c itself for the logits, or d p_c / d z for the probability.
 */
export function seedAtLogits(b: GraphBuilder, head: ClassifierHead, score: ExplainedScore, onehot: string): string {
  if (score === 'logits') return onehot;
  switch (head.activation) {
    case 'log-softmax': {
      const p = b.op1('Exp', [head.activated!]);
      return b.op1('Sub', [onehot, p]);
    }
    case 'sigmoid': {
      const p = head.activated!;
      return b.op1('Mul', [onehot, b.op1('Mul', [p, b.op1('Sub', [b.constFloat([1]), p])])]);
    }
    case 'softmax':
    case null: {
      const p = head.activation ? head.activated! : b.op1('Softmax', [head.logits], { axis: -1 });
      const pc = b.op1('ReduceSum', [b.op1('Mul', [onehot, p]), b.constInt64([1])], { keepdims: 1 });
      return b.op1('Mul', [b.op1('Sub', [onehot, p]), pc]);
    }
  }
}
