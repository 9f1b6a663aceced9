/**
 * Which layers of a model can be explained: 4-D outputs (with more than one pixel) of feature-map
 * ops that lie on a path to the logits, listed deepest first (the usual CAM choice is the last
 * convolutional block). Channels-last tensors (after a Transpose to NHWC, as tf2onnx leaves
 * before its pooling) are left out: the CAM methods read [N, C, H, W].
 *
 * When there is none, requireCandidateLayers says why (a NoCandidateLayerError), so that no
 * caller prints an empty list and succeeds.
 */
import { decodeModel, attrInts, type GraphProto } from './onnx-io.js';
import { inferShapes, type ShapeInfo } from './shapes.js';
import { ancestorsOf } from './graph-paths.js';
import { prepareModel } from './prepare.js';
import { chooseOutput, findHead } from './head.js';
import { NoCandidateLayerError } from './errors.js';
import type { CandidateLayer, CandidateOptions } from './types.js';
import { TokenReach, transformerLayer } from './candidates-transformer.js';

const FEATURE_MAP_OPS = new Set([
  'Conv', 'Relu', 'Clip', 'Add', 'Concat', 'BatchNormalization', 'Mul', 'Sigmoid', 'LeakyRelu',
  'HardSwish', 'HardSigmoid', 'MaxPool', 'AveragePool', 'Sub', 'Div', 'Sum', 'PRelu', 'Elu',
  'Selu', 'Celu', 'Tanh', 'Softplus', 'Softsign', 'Mish', 'Gelu', 'Erf', 'Exp', 'Neg', 'Sqrt', 'Reciprocal',
  'Pow', 'InstanceNormalization', 'Resize', 'Max', 'Min', 'Mean',
]);

/** Ops that keep the layout of their (first 4-D) input. */
const LAYOUT_KEEPING = new Set([...FEATURE_MAP_OPS, 'Identity', 'Dropout', 'Cast', 'Erf', 'Exp', 'Neg', 'Pow', 'Sqrt', 'Reciprocal', 'Pad']);

interface Analysis {
  graph: GraphProto;
  info: ShapeInfo;
  logits: string;
  candidates: CandidateLayer[];
}

function analyse(bytes: Uint8Array, options: CandidateOptions | string | undefined): Analysis {
  const opts: CandidateOptions = typeof options === 'string' ? { output: options } : (options ?? {});
  const model = decodeModel(bytes);
  prepareModel(model, opts);
  const graph = model.graph!;
  const info = inferShapes(graph);
  const { shapes } = info;
  const logitsName = findHead(graph, info, chooseOutput(graph, info, opts.output)).logits;
  const toLogits = ancestorsOf(graph, logitsName);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  // Longest path (in nodes) from a graph input; weights and constants do not count.
  const depth = new Map<string, number>();
  // Tensors known to be channels-last (NHWC); everything a Conv or pool makes is NCHW.
  const channelsLast = new Set<string>();
  for (const input of graph.input ?? []) if (!initializers.has(input.name)) depth.set(input.name!, 0);
  const out: CandidateLayer[] = [];
  const imageShape = [...depth.keys()].map((name) => shapes.get(name)).find((s) => s?.length === 4);
  const image: [number, number] | undefined = imageShape ? [imageShape[2], imageShape[3]] : undefined;
  let reach: TokenReach | undefined;
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const fromInputs = (node.input ?? []).map((x) => depth.get(x)).filter((d): d is number => d !== undefined);
    if (fromInputs.length === 0) continue;
    const d = Math.max(...fromInputs) + 1;
    const y = node.output?.[0];
    for (const o of node.output ?? []) depth.set(o, d);
    const x = (node.input ?? []).find((i) => shapes.get(i)?.length === 4);
    if (y && op === 'Transpose') {
      const perm = attrInts(node, 'perm')?.join(',');
      if (perm === '0,2,3,1' && x && !channelsLast.has(x)) channelsLast.add(y);
    } else if (y && LAYOUT_KEEPING.has(op) && !['Conv', 'MaxPool', 'AveragePool'].includes(op) && x && channelsLast.has(x)) {
      channelsLast.add(y);
    }
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
    if (y && y !== logitsName && FEATURE_MAP_OPS.has(op) && spatial && toLogits.has(y) && !channelsLast.has(y)) {
      out.push({ name: y, op, shape: [...shape], depth: d });
    }
  }
  return { graph, info, logits: logitsName, candidates: out.sort((a, b) => b.depth - a.depth) };
}

/**
 * The candidate layers, deepest first (possibly none). `options` picks the output and resolves
 * a dynamic input (a string is taken as the output name).
 */
export function listCandidateLayers(bytes: Uint8Array, options?: CandidateOptions | string): CandidateLayer[] {
  return analyse(bytes, options).candidates;
}

/** The candidate layers, or a NoCandidateLayerError that says why there are none. */
export function requireCandidateLayers(bytes: Uint8Array, options?: CandidateOptions | string): CandidateLayer[] {
  const a = analyse(bytes, options);
  if (a.candidates.length) return a.candidates;
  throw new NoCandidateLayerError(whyNoCandidates(a));
}

function whyNoCandidates({ graph, info, logits }: Analysis): string {
  const toLogits = ancestorsOf(graph, logits);
  const onPath = (graph.node ?? []).filter((n) => (n.output ?? []).some((o) => toLogits.has(o)));
  // The first node on the path whose output shape is unknown stops every shape after it.
  const unknown = onPath.find((n) => n.output?.[0] && !info.shapes.has(n.output[0]) && (n.input ?? []).some((i) => info.shapes.has(i)));
  if (unknown) {
    return `no candidate layer: the shape of '${unknown.output![0]}' (op ${unknown.opType}, node '${unknown.name || unknown.output![0]}') cannot be inferred, so no 4-D feature map after it is known; give a static input size (--input-size HxW) or name the layer with --layer`;
  }
  const maps = onPath.filter((n) => info.shapes.get(n.output?.[0] ?? '')?.length === 4);
  if (maps.length === 0) return `no candidate layer: no 4-D [N,C,H,W] tensor lies on the path to the output '${logits}'; CAM methods need a convolutional feature map`;
  const big = maps.filter((n) => { const s = info.shapes.get(n.output![0])!; return s[2] * s[3] > 1; });
  if (big.length === 0) return `no candidate layer: every 4-D map on the path to '${logits}' is 1x1 at this input size; give a larger input size (--input-size HxW)`;
  return `no candidate layer: the 4-D maps on the path to '${logits}' come from ops without a backward rule or in channels-last layout (e.g. '${big[big.length - 1].output![0]}', op ${big[big.length - 1].opType}); name a layer with --layer`;
}
