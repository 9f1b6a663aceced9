/**
 * Which layers of a model can be explained: 4-D outputs (with more than one pixel) of feature-map
 * ops that lie on a path to the logits, listed deepest first (the usual CAM choice is the last
 * convolutional block).
 */
import { decodeModel } from './onnx-io.js';
import { inferShapes } from './shapes.js';
import { ancestorsOf } from './graph-paths.js';
import type { CandidateLayer } from './types.js';
import { TokenReach, transformerLayer } from './candidates-transformer.js';

const FEATURE_MAP_OPS = new Set([
  'Conv', 'Relu', 'Clip', 'Add', 'Concat', 'BatchNormalization', 'Mul', 'Sigmoid', 'LeakyRelu',
  'HardSwish', 'HardSigmoid', 'MaxPool', 'AveragePool', 'Sub', 'Div', 'Sum', 'PRelu', 'Elu',
]);

export function listCandidateLayers(bytes: Uint8Array, logits?: string): CandidateLayer[] {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const info = inferShapes(graph);
  const { shapes } = info;
  const logitsName = logits ?? graph.output?.[0]?.name ?? '';
  const toLogits = ancestorsOf(graph, logitsName);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  // Longest path (in nodes) from a graph input; weights and constants do not count.
  const depth = new Map<string, number>();
  for (const input of graph.input ?? []) if (!initializers.has(input.name)) depth.set(input.name!, 0);
  const out: CandidateLayer[] = [];
  const imageShape = [...depth.keys()].map((name) => shapes.get(name)).find((s) => s?.length === 4);
  const image: [number, number] | undefined = imageShape ? [imageShape[2], imageShape[3]] : undefined;
  let reach: TokenReach | undefined;
  for (const node of graph.node ?? []) {
    const fromInputs = (node.input ?? []).map((x) => depth.get(x)).filter((d): d is number => d !== undefined);
    if (fromInputs.length === 0) continue;
    const d = Math.max(...fromInputs) + 1;
    const y = node.output?.[0];
    for (const o of node.output ?? []) depth.set(o, d);
    const shape = y ? shapes.get(y) : undefined;
    // Transformer token / channels-last layers, listed with the grid the CAM methods see.
    const tokens = y && y !== logitsName && toLogits.has(y) ? transformerLayer(node, shape, image, imageShape?.[0], () => (reach ??= new TokenReach(graph, info))) : undefined;
    if (tokens) {
      out.push({ name: y!, op: node.opType!, shape: [...shape!], depth: d, ...tokens });
      continue;
    }
    // A 1x1 map (squeeze-excite gates, pooled features) has nothing to localise: not a candidate.
    // Swin's window tensors ([windows * B, heads, T, T]) are not maps of the image: batch must match.
    const spatial = shape?.length === 4 && shape[2] * shape[3] > 1 && (imageShape === undefined || shape[0] === imageShape[0]);
    if (y && y !== logitsName && FEATURE_MAP_OPS.has(node.opType ?? '') && spatial && toLogits.has(y)) {
      out.push({ name: y, op: node.opType!, shape: [...shape], depth: d });
    }
  }
  return out.sort((a, b) => b.depth - a.depth);
}
