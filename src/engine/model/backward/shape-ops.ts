/**
 * Backward of ops that only move data: Flatten/Reshape/Squeeze/Unsqueeze (reshape back),
 * Transpose (inverse permutation), Concat (split), Identity/Dropout (pass through) and
 * constant Pad (slice the padding away).
 */
import { attrInt, attrInts, attrString } from '../onnx-io.js';
import { single, unsupported, type BackwardRule } from './context.js';

export const reshapeBack: BackwardRule = (ctx, dY) => {
  const x = ctx.node.input![0];
  const sx = ctx.shape(x);
  const grads: (string | null)[] = ctx.node.input!.map(() => null);
  grads[0] = ctx.b.setShape(ctx.b.op1('Reshape', [single(dY), ctx.b.constInt64(sx)]), sx);
  return grads;
};

export const passThrough: BackwardRule = (ctx, dY) => ctx.node.input!.map((_, i) => (i === 0 ? single(dY) : null));

export const transpose: BackwardRule = (ctx, dY) => {
  const rank = ctx.shape(ctx.node.input![0]).length;
  const perm = attrInts(ctx.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inverse = new Array(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [ctx.b.op1('Transpose', [single(dY)], { perm: inverse })];
};

export const concat: BackwardRule = (ctx, dY) => {
  const inputs = ctx.node.input!;
  const rank = ctx.shape(inputs[0]).length;
  const axis0 = attrInt(ctx.node, 'axis', 0);
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  const sizes = inputs.map((name) => ctx.shape(name)[axis]);
  const parts = ctx.b.op('Split', [single(dY), ctx.b.constInt64(sizes)], { axis }, inputs.length);
  return parts.map((p, i) => (ctx.needs[i] ? p : null));
};

export const pad: BackwardRule = (ctx, dY) => {
  const [x, padsName, , axesName] = ctx.node.input!;
  if (attrString(ctx.node, 'mode', 'constant') !== 'constant') unsupported(ctx, 'non-constant padding mode');
  if (ctx.needs.slice(1).some(Boolean)) unsupported(ctx, 'pads or pad value computed from the target');
  const sx = ctx.shape(x);
  const pads = (padsName ? ctx.constant(padsName) : undefined) ?? attrInts(ctx.node, 'pads');
  if (!pads) unsupported(ctx, 'pads are not constant');
  const axes = (axesName ? ctx.constant(axesName) : undefined)?.map((a) => (a < 0 ? a + sx.length : a)) ?? sx.map((_, i) => i);
  if (pads.some((p) => p < 0)) unsupported(ctx, 'negative pads');
  const starts = axes.map((_, i) => pads[i]);
  const ends = axes.map((a, i) => pads[i] + sx[a]);
  const dX = ctx.b.op1('Slice', [single(dY), ctx.b.constInt64(starts), ctx.b.constInt64(ends), ctx.b.constInt64(axes)]);
  return [ctx.b.setShape(dX, sx), null, null, null];
};
