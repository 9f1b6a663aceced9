/**
 * The reshape-transform that lets every CAM method run on a transformer layer (as
 * pytorch-grad-cam's `reshape_transform` does): the layer's activations and gradients are turned
 * into the [B, D, h, w] feature maps the CAM methods expect.
 *
 * - tokens [B, T, D] (ViT / DeiT): the leading non-patch tokens (class token, DeiT's
 *   distillation token) are dropped and the T - p patch tokens laid out as an h x w grid;
 * - channels-last [B, H, W, D] (Swin, MaxViT, ConvNeXt blocks): transposed to [B, D, H, W];
 * - none: the layer already is [B, C, H, W].
 *
 * 'auto' decides from the shape: a grid has the image's aspect ratio (a perfect square for a
 * square image), so T - p must be h * w with h : w = H : W for p = 0, 1 or 2; a 4-D tensor is
 * channels-last when its axes 1-2 (not 2-3) have the image's aspect ratio. An explicit choice
 * overrides the guess. The transform is written into the gradient model (Slice, Reshape,
 * Transpose after the target and after its gradient), so the engine, the browser's zero-copy
 * path and every method see a plain [B, D, h, w] layer.
 */
import { InvalidOptionError } from '../errors.js';
import type { GraphBuilder } from './backward/context.js';

/** How to map a layer to [B, D, h, w]: detected ('auto'), or given. `tokens:N` drops N leading tokens. */
export type ReshapeTransformOption = 'auto' | 'none' | 'tokens' | 'channels-last' | `tokens:${number}`;

export interface ReshapeTransform {
  kind: 'none' | 'tokens' | 'channels-last';
  /** Leading non-patch tokens dropped (tokens only). */
  prefixTokens: number;
  /** The layer's own shape and the [B, D, h, w] shape the CAM methods see. */
  from: number[];
  to: number[];
}

export const RESHAPE_TRANSFORMS = ['auto', 'none', 'tokens', 'channels-last'] as const;

/** Whether h : w is the image's aspect ratio (within one grid cell of rounding). */
function hasAspect(h: number, w: number, image: [number, number] | undefined): boolean {
  if (h <= 0 || w <= 0) return false;
  if (!image) return h === w;
  const [H, W] = image;
  return Math.abs(h * W - w * H) <= Math.max(W, H) / Math.max(h, w, 1);
}

/** The h x w grid of `count` patch tokens for the image's aspect ratio, if there is one. */
export function tokenGrid(count: number, image: [number, number] | undefined): [number, number] | undefined {
  if (count < 2) return undefined;
  const ratio = image ? image[0] / image[1] : 1;
  const h = Math.round(Math.sqrt(count * ratio));
  for (const hh of [h, h - 1, h + 1]) {
    if (hh > 0 && count % hh === 0 && hasAspect(hh, count / hh, image)) return [hh, count / hh];
  }
  return undefined;
}

function tokensTransform(shape: number[], prefix: number | undefined, image: [number, number] | undefined): ReshapeTransform | undefined {
  const [b, t, d] = shape;
  for (const p of prefix === undefined ? [0, 1, 2] : [prefix]) {
    const grid = tokenGrid(t - p, image);
    if (grid) return { kind: 'tokens', prefixTokens: p, from: [...shape], to: [b, d, ...grid] };
  }
  return undefined;
}

/** Resolve the transform for a layer of `shape`; `image` is the model's input [H, W]. */
export function resolveReshapeTransform(
  shape: number[],
  image: [number, number] | undefined,
  option: ReshapeTransformOption = 'auto',
): ReshapeTransform {
  const none: ReshapeTransform = { kind: 'none', prefixTokens: 0, from: [...shape], to: [...shape] };
  const fail = (why: string): never => {
    throw new InvalidOptionError(`reshape-transform '${option}' does not fit the layer's shape [${shape.join(',')}]: ${why}`);
  };
  if (option === 'none') return none;
  if (option === 'channels-last') {
    if (shape.length !== 4) fail('channels-last needs a 4-D [B, H, W, D] layer');
    return { kind: 'channels-last', prefixTokens: 0, from: [...shape], to: [shape[0], shape[3], shape[1], shape[2]] };
  }
  if (option === 'tokens' || option.startsWith('tokens:')) {
    if (shape.length !== 3) fail('tokens needs a 3-D [B, tokens, D] layer');
    const prefix = option === 'tokens' ? undefined : Number(option.slice(7));
    if (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0)) fail('tokens:N needs a whole number N of leading tokens');
    return tokensTransform(shape, prefix, image) ?? fail(`no h x w grid of patch tokens with the image's aspect ratio after dropping ${prefix ?? '0, 1 or 2'} leading tokens`);
  }
  if (option !== 'auto') throw new InvalidOptionError(`unknown reshape-transform '${option}'; use one of ${RESHAPE_TRANSFORMS.join(', ')} or tokens:N`);
  if (shape.length === 3) return tokensTransform(shape, undefined, image) ?? none;
  if (shape.length === 4 && !hasAspect(shape[2], shape[3], image) && hasAspect(shape[1], shape[2], image) && shape[1] * shape[2] > 1) {
    return { kind: 'channels-last', prefixTokens: 0, from: [...shape], to: [shape[0], shape[3], shape[1], shape[2]] };
  }
  return none;
}

/** Append the transform's nodes after `tensor`; returns the [B, D, h, w] tensor (or `tensor` itself for 'none'). */
export function appendReshapeTransform(b: GraphBuilder, tensor: string, t: ReshapeTransform): string {
  if (t.kind === 'none') return tensor;
  if (t.kind === 'channels-last') return b.setShape(b.op1('Transpose', [tensor], { perm: [0, 3, 1, 2] }), t.to);
  const [batch, tokens, dim] = t.from;
  let patches = tensor;
  if (t.prefixTokens > 0) {
    patches = b.op1('Slice', [tensor, b.constInt64([t.prefixTokens]), b.constInt64([tokens]), b.constInt64([1])]);
  }
  const [, , h, w] = t.to;
  const grid = b.op1('Reshape', [patches, b.constInt64([batch, h, w, dim])]);
  return b.setShape(b.op1('Transpose', [grid], { perm: [0, 3, 1, 2] }), t.to);
}
