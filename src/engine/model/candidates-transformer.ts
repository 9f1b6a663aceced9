/**
 * Transformer layers in the candidate listing: token tensors [B, T, D] and channels-last maps
 * [B, H, W, D] that the reshape-transform turns into a [B, D, h, w] grid.
 *
 * A ViT's head reads only the class token: after the last attention (the last token-mixing
 * MatMul) the patch tokens no longer reach the logits, and their gradients are zero. Such layers
 * are not candidates. A tensor's patch tokens reach the logits when no class-token selector
 * (Gather / single-position Slice on the token axis) is downstream of it, or when a selector's
 * input has passed a token-mixing MatMul (both operands computed from the tensor: attention).
 */
import type { GraphProto, NodeProto } from './onnx-io.js';
import { attrInt } from './onnx-io.js';
import { isDifferentiableInput } from './graph-paths.js';
import { resolveReshapeTransform } from './reshape-transform.js';
import type { ShapeInfo } from './shapes.js';

/** Ops whose outputs are the usual token / channels-last layers (block outputs, norms, MLP activations). */
const TOKEN_LAYER_OPS = new Set(['LayerNormalization', 'Add', 'Mul', 'Div', 'Gelu', 'Concat']);

export interface TransformerLayer {
  layout: 'tokens' | 'channels-last';
  grid: number[];
}

/** Nodes that keep one token of a [B, T, D] tensor (the class token read by the head). */
function isTokenSelector(node: NodeProto, info: ShapeInfo): boolean {
  const x = node.input?.[0];
  const shape = x ? info.shapes.get(x) : undefined;
  if (!shape || shape.length !== 3) return false;
  if (node.opType === 'Gather') {
    const axis = attrInt(node, 'axis', 0);
    const idx = info.consts.get(node.input![1]);
    return (axis === 1 || axis === -2) && !!idx && idx.values.length === 1;
  }
  if (node.opType === 'Slice') {
    const out = info.shapes.get(node.output![0]);
    return !!out && out[1] === 1 && shape[1] > 1;
  }
  return false;
}

export class TokenReach {
  private readonly selectors: Set<NodeProto>;

  constructor(
    private readonly graph: GraphProto,
    private readonly info: ShapeInfo,
  ) {
    this.selectors = new Set((graph.node ?? []).filter((n) => isTokenSelector(n, info)));
  }

  /** Whether the patch tokens of `tensor` reach the logits (see the module comment). */
  patchTokensReachLogits(tensor: string): boolean {
    if (this.selectors.size === 0) return true;
    const reach = new Set([tensor]);
    const mixed = new Set<string>();
    let selected = false;
    for (const n of this.graph.node ?? []) {
      const op = n.opType ?? '';
      const ins = (n.input ?? []).filter((x, i) => x && reach.has(x) && isDifferentiableInput(op, i));
      if (ins.length === 0) continue;
      if (this.selectors.has(n)) {
        if (mixed.has(n.input![0])) return true;
        selected = true;
      }
      const mixes = (op === 'MatMul' && ins.length === 2) || ins.some((x) => mixed.has(x));
      for (const o of n.output ?? []) {
        if (!o) continue;
        reach.add(o);
        if (mixes && !this.selectors.has(n)) mixed.add(o);
      }
    }
    return !selected;
  }
}

/** The token / channels-last layout of a node output, if it is a transformer layer to list. */
export function transformerLayer(
  node: NodeProto,
  shape: number[] | undefined,
  image: [number, number] | undefined,
  batch: number | undefined,
  reach: () => TokenReach,
): TransformerLayer | undefined {
  if (!shape || !TOKEN_LAYER_OPS.has(node.opType ?? '')) return undefined;
  if (shape.length !== 3 && shape.length !== 4) return undefined;
  // Swin's windows are [windows * B, tokens per window, D]: tokens of a window, not of the image.
  if (batch !== undefined && shape[0] !== batch) return undefined;
  const t = resolveReshapeTransform(shape, image, 'auto');
  // One channel (a LayerNorm's per-token statistics) is no feature map.
  if (t.kind === 'none' || t.to[1] < 2) return undefined;
  if (t.kind === 'tokens' && !reach().patchTokensReachLogits(node.output![0])) return undefined;
  return { layout: t.kind, grid: t.to };
}
