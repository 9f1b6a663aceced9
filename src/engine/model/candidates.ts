/**
 * Which layers of a model can be explained: 4-D outputs (with more than one pixel) of feature-map
 * ops that lie on a path to the logits, listed deepest first (the usual CAM choice is the last
 * convolutional block).
 */
import { decodeModel } from './onnx-io.js';
import { inferShapes } from './shapes.js';
import { ancestorsOf } from './graph-paths.js';
import type { CandidateLayer } from './types.js';

const FEATURE_MAP_OPS = new Set([
  'Conv', 'Relu', 'Clip', 'Add', 'Concat', 'BatchNormalization', 'Mul', 'Sigmoid', 'LeakyRelu',
  'HardSwish', 'HardSigmoid', 'MaxPool', 'AveragePool', 'Sub', 'Div', 'Sum', 'PRelu', 'Elu',
]);

export function listCandidateLayers(bytes: Uint8Array, logits?: string): CandidateLayer[] {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const { shapes } = inferShapes(graph);
  const logitsName = logits ?? graph.output?.[0]?.name ?? '';
  const toLogits = ancestorsOf(graph, logitsName);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  // Longest path (in nodes) from a graph input; weights and constants do not count.
  const depth = new Map<string, number>();
  for (const input of graph.input ?? []) if (!initializers.has(input.name)) depth.set(input.name!, 0);
  const out: CandidateLayer[] = [];
  for (const node of graph.node ?? []) {
    const fromInputs = (node.input ?? []).map((x) => depth.get(x)).filter((d): d is number => d !== undefined);
    if (fromInputs.length === 0) continue;
    const d = Math.max(...fromInputs) + 1;
    const y = node.output?.[0];
    for (const o of node.output ?? []) depth.set(o, d);
    const shape = y ? shapes.get(y) : undefined;
    // A 1x1 map (squeeze-excite gates, pooled features) has nothing to localise: not a candidate.
    const spatial = shape?.length === 4 && shape[2] * shape[3] > 1;
    if (y && y !== logitsName && FEATURE_MAP_OPS.has(node.opType ?? '') && spatial && toLogits.has(y)) {
      out.push({ name: y, op: node.opType!, shape: [...shape], depth: d });
    }
  }
  return out.sort((a, b) => b.depth - a.depth);
}
