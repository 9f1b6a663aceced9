/**
 * The gradient-graph builder. ONNX Runtime Web has no autograd, so the backward pass of the
 * subgraph from a target layer to the logits is written into the model itself: one forward run
 * of the rewritten model returns the logits, the target's activations and
 * d logit[class] / d activations, the class being a new input.
 *
 * Gradients are seeded with the one-hot of the class at the logits, pushed through the nodes of
 * the path in reverse topological order by the per-op rules in backward/, and summed where a
 * tensor feeds several consumers (residual connections, squeeze-excite, dense concatenation).
 */
import { DataType, decodeModel, encodeModel, makeNode, makeValueInfo, type NodeProto } from './onnx-io.js';
import { ModelFormatError, UnknownLayerError, UnsupportedOpError } from './errors.js';
import { inferShapes } from './shapes.js';
import { ancestorsOf, differentiableDescendants, isDifferentiableInput } from './graph-paths.js';
import { BACKWARD_RULES } from './backward/index.js';
import { GraphBuilder, unsupported, type BackwardContext } from './backward/context.js';
import { prepareModel } from './prepare.js';
import { chooseOutput, findHead, seedAtLogits } from './head.js';
import type { GradientModel, GradientModelOptions } from './types.js';
import { appendReshapeTransform, resolveReshapeTransform } from './reshape-transform.js';

export function buildGradientModel(bytes: Uint8Array, options: GradientModelOptions): GradientModel {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  // Dynamic dims resolved, NHWC fronted by a Transpose, opset < 16 node forms rewritten.
  const input = prepareModel(model, options);
  const info = inferShapes(graph);
  const nodes = graph.node!;

  const outputNames = (graph.output ?? []).map((o) => o.name!);
  const head = findHead(graph, info, chooseOutput(graph, info, options.logits));
  const explained = options.explain ?? 'logits';
  // Gradients start at the pre-activation logits; a probability is differentiated in closed form.
  const logits = head.logits;
  const [batch, numClasses] = info.shapes.get(logits)!;

  const target = options.target;
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  if (!produced.has(target)) {
    throw new UnknownLayerError(`no layer named '${target}' in the model; list the candidates with listCandidateLayers()`);
  }
  const toLogits = ancestorsOf(graph, logits);
  const fromTarget = differentiableDescendants(graph, target);
  if (!toLogits.has(target) || !fromTarget.has(logits)) {
    throw new UnknownLayerError(`layer '${target}' does not lead to the logits '${logits}'; list the candidates with listCandidateLayers()`);
  }
  const onPath = (name: string) => fromTarget.has(name) && toLogits.has(name);
  const pathNodes = nodes.filter((n) => (n.output ?? []).some(onPath) && (n.input ?? []).some((x, i) => onPath(x) && isDifferentiableInput(n.opType!, i)));
  // Report an unsupported op before building anything.
  for (const n of pathNodes) {
    if (!BACKWARD_RULES[n.opType!]) throw new UnsupportedOpError(n.opType!, n.name || n.output![0]);
  }

  const b = new GraphBuilder(info, uniquePrefix(nodes, graph.initializer?.map((t) => t.name!) ?? []));
  const classInputName = options.classInput === 'onehot' ? 'class_onehot' : 'class_index';
  let onehot: string;
  if (options.classInput === 'onehot') {
    onehot = classInputName;
  } else {
    // A negative index asks for the top-1 class: resolved in the graph from the logits, so the
    // default explanation needs one run, not a forward run to find the class and a second one.
    const top1 = b.op1('ArgMax', [logits], { axis: -1, keepdims: 0 });
    const wantsTop1 = b.op1('Less', [classInputName, b.constInt64([0], [])]);
    const resolved = b.op1('Where', [wantsTop1, top1, classInputName]);
    onehot = b.op1('OneHot', [resolved, b.constInt64([numClasses], []), b.constFloat([0, 1], [2])], { axis: -1 });
  }
  const seed = seedAtLogits(b, head, explained, onehot);

  const grads = new Map<string, string[]>([[logits, [seed]]]);
  const gradientOf = (name: string): string | null => {
    const list = grads.get(name);
    if (!list || list.length === 0) return null;
    if (list.length > 1) grads.set(name, [b.op1('Sum', list)]);
    return grads.get(name)![0];
  };

  for (let k = pathNodes.length - 1; k >= 0; k--) {
    const node = pathNodes[k];
    const dY = node.output!.map((o) => (onPath(o) ? gradientOf(o) : null));
    if (dY.every((g) => g === null)) continue;
    const needs = node.input!.map((x, i) => !!x && onPath(x) && isDifferentiableInput(node.opType!, i));
    const ctx: BackwardContext = {
      b,
      node,
      needs,
      shape: (name) =>
        info.shapes.get(name) ??
        unsupported(ctx, `the shape of '${name}' could not be inferred (made by ${producerOf(nodes, name)}); give a static input size (--input-size HxW)`),
      constant: (name) => info.consts.get(name)?.values,
    };
    const dX = BACKWARD_RULES[node.opType!](ctx, dY);
    dX.forEach((g, i) => {
      if (g && needs[i]) grads.set(node.input![i], [...(grads.get(node.input![i]) ?? []), g]);
    });
  }
  const gradient = gradientOf(target);
  if (!gradient) throw new UnknownLayerError(`layer '${target}' gets no gradient from the logits '${logits}'`);

  const taken = new Set([...produced, ...(graph.input ?? []).map((i) => i.name!)]);
  const free = (name: string) => (taken.has(name) ? b.fresh(name) : name);
  const outputs = { logits, activations: free('activations'), gradients: free('gradients') };
  const layerShape = info.shapes.get(target);
  if (!layerShape) throw new ModelFormatError(`shape of layer '${target}' could not be inferred`);
  // Transformer layers (tokens, channels-last) become [B, D, h, w] inside the graph: reshape-transform.ts.
  const imageShape = input.shape;
  const reshape = resolveReshapeTransform(layerShape, imageShape?.length === 4 ? [imageShape[2], imageShape[3]] : undefined, options.reshapeTransform);
  const activationsShape = reshape.to;

  // The target is renamed to `activations` (not copied by an Identity): ORT's graph optimizer
  // (1.30, Pad fusion next to an Identity-fed graph output) otherwise loses track of the tensor.
  const tail: NodeProto[] = [];
  if (reshape.kind !== 'none') {
    const before = b.nodes.length;
    const acts = appendReshapeTransform(b, target, reshape);
    const grad = appendReshapeTransform(b, gradient, reshape);
    renameTensor(b.nodes.slice(before), acts, outputs.activations);
    renameTensor(b.nodes.slice(before), grad, outputs.gradients);
  } else {
    if (outputNames.includes(target)) tail.push(makeNode('Identity', [target], [outputs.activations], b.fresh('activations_out')));
    else renameTensor([...nodes, ...b.nodes], target, outputs.activations);
    const gradProducer = b.nodes.find((n) => n.output!.includes(gradient));
    if (gradProducer) renameTensor(b.nodes, gradient, outputs.gradients);
    else tail.push(makeNode('Identity', [gradient], [outputs.gradients], b.fresh('gradients_out')));
  }
  graph.node = [...nodes, ...b.nodes, ...tail];
  graph.initializer = [...(graph.initializer ?? []), ...b.initializers];
  graph.input = [
    ...(graph.input ?? []),
    options.classInput === 'onehot'
      ? makeValueInfo(classInputName, DataType.FLOAT, [batch, numClasses])
      : makeValueInfo(classInputName, DataType.INT64, [batch]),
  ];
  graph.output = [
    ...(graph.output ?? []),
    // The logits under a head are no graph output of the model itself.
    ...(outputNames.includes(logits) ? [] : [makeValueInfo(logits, DataType.FLOAT, [batch, numClasses])]),
    makeValueInfo(outputs.activations, DataType.FLOAT, activationsShape),
    makeValueInfo(outputs.gradients, DataType.FLOAT, activationsShape),
  ];

  return {
    bytes: encodeModel(model),
    inputName: input.name,
    inputShape: [...input.shape],
    classInputName,
    numClasses,
    activationsShape: [...activationsShape],
    reshape,
    outputs,
    head: { ...head, explained },
    input,
  };
}

function renameTensor(nodes: NodeProto[], from: string, to: string): void {
  for (const n of nodes) {
    n.input = (n.input ?? []).map((x) => (x === from ? to : x));
    n.output = (n.output ?? []).map((x) => (x === from ? to : x));
  }
}

/** A name prefix no existing tensor or node uses, so added names never collide. */
function uniquePrefix(nodes: NodeProto[], extra: string[]): string {
  const names = [...extra, ...nodes.flatMap((n) => [...(n.input ?? []), ...(n.output ?? []), n.name ?? ''])];
  let prefix = '/cam_grad/';
  for (let k = 0; names.some((n) => n.startsWith(prefix)); k++) prefix = `/cam_grad${k}/`;
  return prefix;
}

/** "op X (node 'n')" for the node that makes `tensor`, for error messages. */
function producerOf(nodes: NodeProto[], tensor: string): string {
  const n = nodes.find((x) => (x.output ?? []).includes(tensor));
  return n ? `op ${n.opType} (node '${n.name || tensor}')` : 'no node: a graph input or initializer';
}
