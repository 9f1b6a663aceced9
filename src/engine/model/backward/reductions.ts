/**
 * Backward of sums: ReduceSum (axes an attribute before opset 13, an input from then on), the
 * variadic Sum and Mean with broadcasting; of maxima: ReduceMax / GlobalMaxPool (the gradient
 * shared evenly by the positions that hold the maximum, as torch's amax), and Max/Min of two tensors (the gradient goes to the
 * larger/smaller one, split in halves where they tie, as torch does).
 */
import { attrInt, attrInts } from '../onnx-io.js';
import { reduceToShape, single, unsupported, type BackwardContext, type BackwardRule } from './context.js';

function reducedAxes(ctx: BackwardContext, sx: number[]): number[] | null {
  const axesInput = ctx.node.input![1];
  const axes = attrInts(ctx.node, 'axes') ?? (axesInput ? ctx.constant(axesInput) : undefined);
  if (axesInput && !axes) unsupported(ctx, 'axes input is not a constant');
  if (!axes || axes.length === 0) return attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1 ? null : sx.map((_, i) => i);
  return axes.map((a) => (a < 0 ? a + sx.length : a));
}

export const reduceSum: BackwardRule = (ctx, dY) => {
  const x = ctx.node.input![0];
  const sx = ctx.shape(x);
  const axes = reducedAxes(ctx, sx);
  if (!axes) return [single(dY), null];
  const set = new Set(axes);
  const kept = sx.map((d, i) => (set.has(i) ? 1 : d));
  const g = ctx.b.op1('Reshape', [single(dY), ctx.b.constInt64(kept)]);
  return [ctx.b.setShape(ctx.b.op1('Expand', [g, ctx.b.constInt64(sx)]), sx), null];
};

const sumOrMean = (mean: boolean): BackwardRule => (ctx, dY) => {
  const inputs = ctx.node.input!;
  const sy = ctx.shape(ctx.node.output![0]);
  const g = mean ? ctx.b.op1('Div', [single(dY), ctx.b.constFloat([inputs.length])]) : single(dY);
  return inputs.map((x, i) => (ctx.needs[i] ? reduceToShape(ctx, g, sy, ctx.shape(x)) : null));
};

export const sum = sumOrMean(false);
export const mean = sumOrMean(true);

const extremum = (op: 'Max' | 'Min'): BackwardRule => (ctx, dY) => {
  const inputs = ctx.node.input!;
  if (inputs.length !== 2) unsupported(ctx, `${op} of ${inputs.length} inputs (2 are supported)`);
  const [a, b] = inputs;
  const g = single(dY);
  const sy = ctx.shape(ctx.node.output![0]);
  // As torch's maximum/minimum: the winner takes the gradient, a tie splits it in halves.
  const half = ctx.b.op1('Mul', [g, ctx.b.constFloat([0.5])]);
  const zero = ctx.b.constFloat([0]);
  const tie = ctx.b.op1('Equal', [a, b]);
  const share = (wins: string) => ctx.b.op1('Where', [wins, g, ctx.b.op1('Where', [tie, half, zero])]);
  const cmp = op === 'Max' ? 'Greater' : 'Less';
  return [
    ctx.needs[0] ? reduceToShape(ctx, share(ctx.b.op1(cmp, [a, b])), sy, ctx.shape(a)) : null,
    ctx.needs[1] ? reduceToShape(ctx, share(ctx.b.op1(cmp, [b, a])), sy, ctx.shape(b)) : null,
  ];
};

export const max = extremum('Max');
export const min = extremum('Min');

/** ReduceMax (axes an attribute before opset 18, an input from then on) and GlobalMaxPool. */
function maxBack(ctx: BackwardContext, dY: (string | null)[], axes: number[] | null): string {
  const x = ctx.node.input![0];
  const sx = ctx.shape(x);
  if (!axes) return single(dY);
  const set = new Set(axes);
  const kept = sx.map((d, i) => (set.has(i) ? 1 : d));
  const shape = ctx.b.constInt64(kept);
  const y = ctx.b.op1('Reshape', [ctx.node.output![0], shape]);
  const hits = ctx.b.op1('Cast', [ctx.b.op1('Equal', [x, y])], { to: 1 });
  const count = ctx.b.op1('ReduceSum', [hits, ctx.b.constInt64(axes)], { keepdims: 1 });
  const g = ctx.b.op1('Div', [ctx.b.op1('Reshape', [single(dY), shape]), count]);
  return ctx.b.setShape(ctx.b.op1('Mul', [hits, g]), sx);
}

export const reduceMax: BackwardRule = (ctx, dY) => [maxBack(ctx, dY, reducedAxes(ctx, ctx.shape(ctx.node.input![0]))), null];

export const globalMaxPool: BackwardRule = (ctx, dY) => {
  const rank = ctx.shape(ctx.node.input![0]).length;
  return [maxBack(ctx, dY, Array.from({ length: rank - 2 }, (_, i) => i + 2))];
};
