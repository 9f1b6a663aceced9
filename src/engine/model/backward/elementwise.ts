/** Backward of the broadcasting binary ops Add, Sub, Mul, Div. */
import { reduceToShape, single, type BackwardContext, type BackwardRule } from './context.js';

function shapes(ctx: BackwardContext) {
  const [a, b] = ctx.node.input!;
  return { a, b, sa: ctx.shape(a), sb: ctx.shape(b), sy: ctx.shape(ctx.node.output![0]) };
}

export const add: BackwardRule = (ctx, dY) => {
  const g = single(dY);
  const { sa, sb, sy } = shapes(ctx);
  return [ctx.needs[0] ? reduceToShape(ctx, g, sy, sa) : null, ctx.needs[1] ? reduceToShape(ctx, g, sy, sb) : null];
};

export const sub: BackwardRule = (ctx, dY) => {
  const g = single(dY);
  const { sa, sb, sy } = shapes(ctx);
  return [
    ctx.needs[0] ? reduceToShape(ctx, g, sy, sa) : null,
    ctx.needs[1] ? reduceToShape(ctx, ctx.b.op1('Neg', [g]), sy, sb) : null,
  ];
};

export const mul: BackwardRule = (ctx, dY) => {
  const g = single(dY);
  const { a, b, sa, sb, sy } = shapes(ctx);
  return [
    ctx.needs[0] ? reduceToShape(ctx, ctx.b.op1('Mul', [g, b]), sy, sa) : null,
    ctx.needs[1] ? reduceToShape(ctx, ctx.b.op1('Mul', [g, a]), sy, sb) : null,
  ];
};

export const div: BackwardRule = (ctx, dY) => {
  const g = single(dY);
  const { b, sa, sb, sy } = shapes(ctx);
  // dA = g / B; dB = -g * A / B^2 = -(g / B) * Y, which reuses dA and the forward output.
  const gOverB = ctx.b.op1('Div', [g, b]);
  return [
    ctx.needs[0] ? reduceToShape(ctx, gOverB, sy, sa) : null,
    ctx.needs[1] ? reduceToShape(ctx, ctx.b.op1('Neg', [ctx.b.op1('Mul', [gOverB, ctx.node.output![0]])]), sy, sb) : null,
  ];
};
