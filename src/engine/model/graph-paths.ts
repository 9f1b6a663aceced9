/** Graph reachability shared by the candidate listing and the gradient builder. */
import type { GraphProto } from './onnx-io.js';
import { NON_DIFFERENTIABLE_INPUTS, NON_DIFFERENTIABLE_OUTPUT } from './backward/index.js';

/** Tensors from which `output` can be computed (including itself). ONNX graphs are topologically sorted. */
export function ancestorsOf(graph: GraphProto, output: string): Set<string> {
  const reach = new Set([output]);
  const nodes = graph.node ?? [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if ((n.output ?? []).some((o) => reach.has(o))) for (const x of n.input ?? []) if (x) reach.add(x);
  }
  return reach;
}

/** Whether input `i` of an op can carry a gradient (shape, axes and index arguments cannot). */
export function isDifferentiableInput(opType: string, i: number): boolean {
  return !NON_DIFFERENTIABLE_OUTPUT.has(opType) && !(NON_DIFFERENTIABLE_INPUTS[opType] ?? []).includes(i);
}

/** Tensors that depend differentiably on `source` (including itself). */
export function differentiableDescendants(graph: GraphProto, source: string): Set<string> {
  const reach = new Set([source]);
  for (const n of graph.node ?? []) {
    const op = n.opType ?? '';
    if ((n.input ?? []).some((x, i) => x && reach.has(x) && isDifferentiableInput(op, i))) {
      for (const o of n.output ?? []) if (o) reach.add(o);
    }
  }
  return reach;
}
