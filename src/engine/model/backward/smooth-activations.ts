/**
 * Backward of the smooth (and piecewise-smooth) pointwise ops that exporters other than the
 * torchvision path emit: PRelu, Elu, Selu, Celu, Softplus, Softsign, Tanh, Erf (Erf-based GELU
 * is Div/Erf/Add/Mul), Exp, Sqrt, Neg, Reciprocal, Pow with a constant exponent, Cast between
 * floats, and the fused Mish (opset 18) and Gelu (opset 20). Conventions follow torch's
 * backward (e.g. PRelu/Elu take the negative branch at 0).
 */
import { attrFloat, attrInt, attrString, DataType } from '../onnx-io.js';
import { reduceToShape, single, unsupported, type BackwardContext, type BackwardRule } from './context.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

function noGradIntoConstants(ctx: BackwardContext, what: string): void {
  if (ctx.needs.slice(1).some(Boolean)) unsupported(ctx, `${what} computed from the target`);
}

const positive = (ctx: BackwardContext, x: string) => ctx.b.op1('Greater', [x, ctx.b.constFloat([0])]);

export const prelu: BackwardRule = (ctx, dY) => {
  noGradIntoConstants(ctx, 'the slope');
  const g = single(dY);
  const [x, slope] = ctx.node.input!;
  return [ctx.b.op1('Where', [positive(ctx, x), g, ctx.b.op1('Mul', [g, slope])]), null];
};

/** x > 0: g * scale; else g * scale * alpha * exp(x) (Elu: scale 1; Selu: gamma). */
function exponentialUnit(ctx: BackwardContext, g: string, alpha: number, scale: number, divisor = 1): string {
  const x = ctx.node.input![0];
  const inner = divisor === 1 ? x : ctx.b.op1('Div', [x, ctx.b.constFloat([divisor])]);
  const negative = ctx.b.op1('Mul', [g, ctx.b.op1('Mul', [ctx.b.op1('Exp', [inner]), ctx.b.constFloat([(scale * alpha) / divisor])])]);
  const pos = scale === 1 ? g : ctx.b.op1('Mul', [g, ctx.b.constFloat([scale])]);
  return ctx.b.op1('Where', [positive(ctx, x), pos, negative]);
}

export const elu: BackwardRule = (ctx, dY) => [exponentialUnit(ctx, single(dY), attrFloat(ctx.node, 'alpha', 1), 1)];

export const selu: BackwardRule = (ctx, dY) => [
  exponentialUnit(ctx, single(dY), attrFloat(ctx.node, 'alpha', 1.67326319217681884765625), attrFloat(ctx.node, 'gamma', 1.05070102214813232421875)),
];

/** Celu(x) = max(0, x) + min(0, alpha (exp(x / alpha) - 1)). */
export const celu: BackwardRule = (ctx, dY) => {
  const alpha = attrFloat(ctx.node, 'alpha', 1);
  return [exponentialUnit(ctx, single(dY), alpha, 1, alpha)];
};

export const softplus: BackwardRule = (ctx, dY) => [ctx.b.op1('Mul', [single(dY), ctx.b.op1('Sigmoid', [ctx.node.input![0]])])];

export const softsign: BackwardRule = (ctx, dY) => {
  const denom = ctx.b.op1('Add', [ctx.b.constFloat([1]), ctx.b.op1('Abs', [ctx.node.input![0]])]);
  return [ctx.b.op1('Div', [single(dY), ctx.b.op1('Mul', [denom, denom])])];
};

export const tanh: BackwardRule = (ctx, dY) => {
  const y = ctx.node.output![0];
  return [ctx.b.op1('Mul', [single(dY), ctx.b.op1('Sub', [ctx.b.constFloat([1]), ctx.b.op1('Mul', [y, y])])])];
};

export const erf: BackwardRule = (ctx, dY) => {
  const x = ctx.node.input![0];
  const gauss = ctx.b.op1('Exp', [ctx.b.op1('Neg', [ctx.b.op1('Mul', [x, x])])]);
  return [ctx.b.op1('Mul', [single(dY), ctx.b.op1('Mul', [gauss, ctx.b.constFloat([TWO_OVER_SQRT_PI])])])];
};

export const exp: BackwardRule = (ctx, dY) => [ctx.b.op1('Mul', [single(dY), ctx.node.output![0]])];

export const sqrt: BackwardRule = (ctx, dY) => [ctx.b.op1('Div', [single(dY), ctx.b.op1('Mul', [ctx.node.output![0], ctx.b.constFloat([2])])])];

export const neg: BackwardRule = (ctx, dY) => [ctx.b.op1('Neg', [single(dY)])];

export const reciprocal: BackwardRule = (ctx, dY) => {
  const y = ctx.node.output![0];
  return [ctx.b.op1('Neg', [ctx.b.op1('Mul', [single(dY), ctx.b.op1('Mul', [y, y])])])];
};

/** Pow(x, p) with p not on the path: g * p * x^(p-1), broadcast back to x. */
export const pow: BackwardRule = (ctx, dY) => {
  if (ctx.needs[1]) unsupported(ctx, 'an exponent computed from the target');
  const [x, p] = ctx.node.input!;
  const pf = ctx.b.op1('Cast', [p], { to: DataType.FLOAT });
  const d = ctx.b.op1('Mul', [pf, ctx.b.op1('Pow', [x, ctx.b.op1('Sub', [pf, ctx.b.constFloat([1])])])]);
  const g = ctx.b.op1('Mul', [single(dY), d]);
  return [reduceToShape(ctx, g, ctx.shape(ctx.node.output![0]), ctx.shape(x)), null];
};

export const castFloat: BackwardRule = (ctx, dY) => {
  if (attrInt(ctx.node, 'to', 0) !== DataType.FLOAT) unsupported(ctx, 'a cast to a non-float32 type');
  return [single(dY)];
};

/** Mish(x) = x tanh(softplus(x)): d = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2). */
export const mish: BackwardRule = (ctx, dY) => {
  const x = ctx.node.input![0];
  const t = ctx.b.op1('Tanh', [ctx.b.op1('Softplus', [x])]);
  const oneMinus = ctx.b.op1('Sub', [ctx.b.constFloat([1]), ctx.b.op1('Mul', [t, t])]);
  const d = ctx.b.op1('Add', [t, ctx.b.op1('Mul', [ctx.b.op1('Mul', [x, ctx.b.op1('Sigmoid', [x])]), oneMinus])]);
  return [ctx.b.op1('Mul', [single(dY), d])];
};

/** Gelu (opset 20), exact: Phi(x) + x phi(x); tanh approximation: differentiated as written. */
export const gelu: BackwardRule = (ctx, dY) => {
  const b = ctx.b;
  const x = ctx.node.input![0];
  const half = b.constFloat([0.5]);
  const one = b.constFloat([1]);
  const x2 = b.op1('Mul', [x, x]);
  let d: string;
  if (attrString(ctx.node, 'approximate', 'none') === 'tanh') {
    const c = 0.044715;
    const u = b.op1('Mul', [b.op1('Mul', [x, b.op1('Add', [one, b.op1('Mul', [x2, b.constFloat([c])])])]), b.constFloat([SQRT_2_OVER_PI])]);
    const t = b.op1('Tanh', [u]);
    const du = b.op1('Mul', [b.op1('Add', [one, b.op1('Mul', [x2, b.constFloat([3 * c])])]), b.constFloat([SQRT_2_OVER_PI])]);
    const sech2 = b.op1('Sub', [one, b.op1('Mul', [t, t])]);
    d = b.op1('Add', [b.op1('Mul', [half, b.op1('Add', [one, t])]), b.op1('Mul', [b.op1('Mul', [half, x]), b.op1('Mul', [sech2, du])])]);
  } else {
    const cdf = b.op1('Mul', [half, b.op1('Add', [one, b.op1('Erf', [b.op1('Mul', [x, b.constFloat([Math.SQRT1_2])])])])]);
    const pdf = b.op1('Mul', [b.op1('Exp', [b.op1('Mul', [x2, b.constFloat([-0.5])])]), b.constFloat([1 / Math.sqrt(2 * Math.PI)])]);
    d = b.op1('Add', [cdf, b.op1('Mul', [x, pdf])]);
  }
  return [b.op1('Mul', [single(dY), d])];
};
