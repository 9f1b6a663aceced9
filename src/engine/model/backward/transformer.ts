/**
 * Backward of the ops vision transformers (ViT/DeiT, Swin, ConvNeXt's channels-last blocks) put
 * between a token layer and the logits: LayerNormalization (and the pieces of its decomposed
 * opset < 17 form: Pow, Sqrt), Softmax over any axis (attention), Erf (exact GELU), Neg,
 * Gather / Slice / Split of tokens (class token, patch merging, window roll), Where / Expand.
 *
 * Erf is also added by the import work (issue 9, items 1-4): whichever lands second keeps one.
 */
import { attrFloat, attrInt, attrInts } from '../onnx-io.js';
import { reduceToShape, single, unsupported, type BackwardContext, type BackwardRule } from './context.js';

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Sum over `axes` keeping them (ReduceSum's axes are an input from opset 13 on). */
function sumKeep(ctx: BackwardContext, x: string, axes: number[]): string {
  return ctx.b.op1('ReduceSum', [x, ctx.b.constInt64(axes)], { keepdims: 1 });
}

/**
 * LayerNormalization: Y = (X - mean) * rstd * scale + bias over the axes [axis, rank).
 * dX = rstd * (g - mean(g) - xhat * mean(g * xhat)), with g = dY * scale and xhat = (X - mean) * rstd;
 * the statistics are recomputed from X (the forward node's optional outputs are not relied on).
 */
export const layerNormalization: BackwardRule = (ctx, dY) => {
  if (ctx.needs[1] || ctx.needs[2]) unsupported(ctx, 'scale or bias computed from the target');
  const [x, scale] = ctx.node.input!;
  const sx = ctx.shape(x);
  const axis = normAxis(attrInt(ctx.node, 'axis', -1), sx.length);
  const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
  const axes = sx.map((_, i) => i).filter((i) => i >= axis);
  const n = ctx.b.constFloat([prod(sx.slice(axis))]);
  const b = ctx.b;
  const mean = (t: string) => b.op1('Div', [sumKeep(ctx, t, axes), n]);
  const centred = b.op1('Sub', [x, mean(x)]);
  const variance = mean(b.op1('Mul', [centred, centred]));
  const rstd = b.op1('Reciprocal', [b.op1('Sqrt', [b.op1('Add', [variance, b.constFloat([eps])])])]);
  const xhat = b.op1('Mul', [centred, rstd]);
  const g = b.op1('Mul', [single(dY), scale]);
  const inner = b.op1('Sub', [b.op1('Sub', [g, mean(g)]), b.op1('Mul', [xhat, mean(b.op1('Mul', [g, xhat]))])]);
  return [b.setShape(b.op1('Mul', [inner, rstd]), sx), null, null];
};

/** Softmax over one axis (opset >= 13 semantics): dX = Y * (g - sum(g * Y, axis)). */
export const softmax: BackwardRule = (ctx, dY) => {
  const y = ctx.node.output![0];
  const rank = ctx.shape(y).length;
  const axis = normAxis(attrInt(ctx.node, 'axis', -1), rank);
  const g = single(dY);
  const dot = sumKeep(ctx, ctx.b.op1('Mul', [g, y]), [axis]);
  return [ctx.b.op1('Mul', [y, ctx.b.op1('Sub', [g, dot])])];
};

/** Pow with a constant exponent: dX = g * e * X^(e-1) (X*X form for e = 2, as decomposed LayerNorm uses). */
export const pow: BackwardRule = (ctx, dY) => {
  if (ctx.needs[1]) unsupported(ctx, 'exponent computed from the target');
  const [x, e] = ctx.node.input!;
  const value = ctx.constant(e);
  const g = single(dY);
  let derivative: string;
  if (value && value.length === 1 && value[0] === 2) derivative = ctx.b.op1('Mul', [x, ctx.b.constFloat([2])]);
  else if (value && value.length === 1 && value[0] === 1) return [g, null];
  else {
    const eMinus1 = ctx.b.op1('Sub', [e, ctx.b.op1('CastLike', [ctx.b.constFloat([1]), e])]);
    derivative = ctx.b.op1('Mul', [ctx.b.op1('Cast', [e], { to: 1 }), ctx.b.op1('Pow', [x, eMinus1])]);
  }
  const sy = ctx.shape(ctx.node.output![0]);
  return [reduceToShape(ctx, ctx.b.op1('Mul', [g, derivative]), sy, ctx.shape(x)), null];
};

/** Sqrt: dX = g / (2 Y). */
export const sqrt: BackwardRule = (ctx, dY) => {
  const y = ctx.node.output![0];
  return [ctx.b.op1('Div', [single(dY), ctx.b.op1('Mul', [y, ctx.b.constFloat([2])])])];
};

/** Erf (exact GELU is x * 0.5 * (1 + erf(x / sqrt 2))): d erf(x) = 2 / sqrt(pi) * exp(-x^2). */
export const erf: BackwardRule = (ctx, dY) => {
  const x = ctx.node.input![0];
  const gauss = ctx.b.op1('Exp', [ctx.b.op1('Neg', [ctx.b.op1('Mul', [x, x])])]);
  return [ctx.b.op1('Mul', [single(dY), ctx.b.op1('Mul', [gauss, ctx.b.constFloat([2 / Math.sqrt(Math.PI)])])])];
};

export const neg: BackwardRule = (ctx, dY) => [ctx.b.op1('Neg', [single(dY)])];

/** Cast between float types passes the gradient (as float); casts to integers carry none. */
export const cast: BackwardRule = (ctx, dY) => {
  const to = attrInt(ctx.node, 'to', 1);
  if (to !== 1 && to !== 10 && to !== 11 && to !== 16) unsupported(ctx, `cast of the target to a non-float type (${to})`);
  return [ctx.b.op1('Cast', [single(dY)], { to: 1 })];
};

/** Where(cond, A, B): the gradient goes to A where cond holds, to B elsewhere. */
export const where: BackwardRule = (ctx, dY) => {
  const [cond, a, bIn] = ctx.node.input!;
  const g = single(dY);
  const sy = ctx.shape(ctx.node.output![0]);
  const zero = ctx.b.constFloat([0]);
  return [
    null,
    ctx.needs[1] ? reduceToShape(ctx, ctx.b.op1('Where', [cond, g, zero]), sy, ctx.shape(a)) : null,
    ctx.needs[2] ? reduceToShape(ctx, ctx.b.op1('Where', [cond, zero, g]), sy, ctx.shape(bIn)) : null,
  ];
};

/** Expand: sum the gradient back over the broadcast axes (class token expanded over the batch). */
export const expand: BackwardRule = (ctx, dY) => {
  const x = ctx.node.input![0];
  return [reduceToShape(ctx, single(dY), ctx.shape(ctx.node.output![0]), ctx.shape(x)), null];
};

/**
 * Put `g` (whose `axis` has positions.length entries) into a zero tensor whose `axis` has `size`
 * entries, at `positions` (duplicates add up, as a Gather with repeated indices needs).
 */
function scatterAlong(ctx: BackwardContext, g: string, gShape: number[], axis: number, positions: number[], size: number): string {
  const b = ctx.b;
  const outShape = gShape.map((d, i) => (i === axis ? size : d));
  const contiguous = positions.every((p, i) => p === positions[0] + i);
  if (contiguous) {
    // A block of consecutive positions (a step-1 Slice, one class token): zero-padding is enough.
    const pads = new Array(2 * gShape.length).fill(0);
    pads[axis] = positions[0];
    pads[axis + gShape.length] = size - positions[0] - positions.length;
    return b.setShape(b.op1('Pad', [g, b.constInt64(pads)]), outShape);
  }
  const indexShape = gShape.map((_, i) => (i === axis ? positions.length : 1));
  const indices = b.op1('Expand', [b.constInt64(positions, indexShape), b.constInt64(gShape)]);
  const zeros = b.op1('ConstantOfShape', [b.constInt64(outShape)]);
  const unique = new Set(positions).size === positions.length;
  const attrs = unique ? { axis } : { axis, reduction: 'add' };
  return b.setShape(b.op1('ScatterElements', [zeros, indices, g], attrs), outShape);
}

/** Gather with constant indices: scatter the gradient back to the gathered positions. */
export const gather: BackwardRule = (ctx, dY) => {
  const [data, indicesName] = ctx.node.input!;
  const sx = ctx.shape(data);
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), sx.length);
  const indices = ctx.constant(indicesName);
  if (!indices) unsupported(ctx, 'indices are not constant');
  const positions = indices.map((i) => normAxis(i, sx[axis]));
  // dY has the indices' dims in place of `axis`: flatten them to one axis of positions.length.
  const flatShape = sx.map((d, i) => (i === axis ? positions.length : d));
  const flat = ctx.b.setShape(ctx.b.op1('Reshape', [single(dY), ctx.b.constInt64(flatShape)]), flatShape);
  return [scatterAlong(ctx, flat, flatShape, axis, positions, sx[axis]), null];
};

/** Slice (inputs from opset 10, attributes before): scatter back, one sliced axis at a time. */
export const slice: BackwardRule = (ctx, dY) => {
  const [x, startsName, endsName, axesName, stepsName] = ctx.node.input!;
  const sx = ctx.shape(x);
  const fromInput = (name: string | undefined) => (name ? ctx.constant(name) ?? unsupported(ctx, `'${name}' is not constant`) : undefined);
  const starts = fromInput(startsName) ?? attrInts(ctx.node, 'starts');
  const ends = fromInput(endsName) ?? attrInts(ctx.node, 'ends');
  if (!starts || !ends) unsupported(ctx, 'no starts/ends');
  const axes = (fromInput(axesName) ?? attrInts(ctx.node, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, sx.length));
  const steps = fromInput(stepsName) ?? starts.map(() => 1);
  let g = single(dY);
  let shape = [...ctx.shape(ctx.node.output![0])];
  axes.forEach((a, i) => {
    const d = sx[a];
    const step = steps[i];
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let st = starts[i] < 0 ? starts[i] + d : starts[i];
    let en = ends[i] < 0 ? ends[i] + d : ends[i];
    st = step > 0 ? clamp(st, 0, d) : clamp(st, 0, d - 1);
    en = step > 0 ? clamp(en, 0, d) : clamp(en, -1, d - 1);
    const positions: number[] = [];
    for (let p = st; step > 0 ? p < en : p > en; p += step) positions.push(p);
    if (positions.length === d && step === 1) return;
    g = scatterAlong(ctx, g, shape, a, positions, d);
    shape = shape.map((v, k) => (k === a ? d : v));
  });
  return [ctx.b.setShape(g, sx), null, null, null, null];
};

/** Split: concatenate the output gradients, zeros where an output does not reach the logits. */
export const split: BackwardRule = (ctx, dY) => {
  const x = ctx.node.input![0];
  const sx = ctx.shape(x);
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), sx.length);
  const parts = ctx.node.output!.map((o, k) => {
    if (dY[k]) return dY[k]!;
    return ctx.b.op1('ConstantOfShape', [ctx.b.constInt64(ctx.shape(o))]);
  });
  const grads: (string | null)[] = ctx.node.input!.map(() => null);
  grads[0] = ctx.b.setShape(parts.length === 1 ? parts[0] : ctx.b.op1('Concat', parts, { axis }), sx);
  return grads;
};

export const TRANSFORMER_RULES: Record<string, BackwardRule> = {
  LayerNormalization: layerNormalization,
  Softmax: softmax,
  Pow: pow,
  Sqrt: sqrt,
  Erf: erf,
  Neg: neg,
  Cast: cast,
  Where: where,
  Expand: expand,
  Gather: gather,
  Slice: slice,
  Split: split,
};
