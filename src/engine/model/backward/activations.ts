/**
 * Backward of pointwise activations. Masks follow torch's backward conventions exactly (e.g.
 * ReLU/Clip pass no gradient at the kink), so results match autograd bit for bit where it matters.
 */
import { single, unsupported, type BackwardRule } from './context.js';
import { attrFloat } from '../onnx-io.js';

/** Multiply `g` by a boolean mask (as float). */
function masked(b: import('./context.js').GraphBuilder, g: string, mask: string): string {
  return b.op1('Mul', [g, b.op1('Cast', [mask], { to: 1 })]);
}

export const relu: BackwardRule = (ctx, dY) => {
  const zero = ctx.b.constFloat([0]);
  return [masked(ctx.b, single(dY), ctx.b.op1('Greater', [ctx.node.output![0], zero]))];
};

export const leakyRelu: BackwardRule = (ctx, dY) => {
  const g = single(dY);
  const alpha = attrFloat(ctx.node, 'alpha', 0.01);
  const x = ctx.node.input![0];
  const positive = ctx.b.op1('Greater', [x, ctx.b.constFloat([0])]);
  return [ctx.b.op1('Where', [positive, g, ctx.b.op1('Mul', [g, ctx.b.constFloat([alpha])])])];
};

export const clip: BackwardRule = (ctx, dY) => {
  const [x, minName, maxName] = ctx.node.input!;
  if (ctx.needs[1] || ctx.needs[2]) unsupported(ctx, 'min/max computed from the target');
  // Opset >= 11 takes min/max as inputs; older opsets as attributes.
  const bound = (name: string | undefined, attr: string): number | undefined => {
    if (name) {
      const v = ctx.constant(name);
      if (!v) unsupported(ctx, `its ${attr} input is not a constant`);
      return v[0];
    }
    const a = (ctx.node.attribute ?? []).find((t) => t.name === attr);
    return a ? a.f ?? undefined : undefined;
  };
  const lo = bound(minName, 'min');
  const hi = bound(maxName, 'max');
  // torch's hardtanh_backward: zero where x <= min or x >= max.
  let mask: string | undefined;
  const and = (m: string) => (mask = mask ? ctx.b.op1('And', [mask, m]) : m);
  if (lo !== undefined) and(ctx.b.op1('Greater', [x, ctx.b.constFloat([lo])]));
  if (hi !== undefined) and(ctx.b.op1('Less', [x, ctx.b.constFloat([hi])]));
  return [mask ? masked(ctx.b, single(dY), mask) : single(dY), null, null];
};

export const sigmoid: BackwardRule = (ctx, dY) => {
  const y = ctx.node.output![0];
  const oneMinus = ctx.b.op1('Sub', [ctx.b.constFloat([1]), y]);
  return [ctx.b.op1('Mul', [single(dY), ctx.b.op1('Mul', [y, oneMinus])])];
};

export const hardSigmoid: BackwardRule = (ctx, dY) => {
  const alpha = attrFloat(ctx.node, 'alpha', 0.2);
  const beta = attrFloat(ctx.node, 'beta', 0.5);
  const x = ctx.node.input![0];
  // Linear region 0 < alpha*x + beta < 1, open at both ends as in torch.
  const t = ctx.b.op1('Add', [ctx.b.op1('Mul', [x, ctx.b.constFloat([alpha])]), ctx.b.constFloat([beta])]);
  const inside = ctx.b.op1('And', [ctx.b.op1('Greater', [t, ctx.b.constFloat([0])]), ctx.b.op1('Less', [t, ctx.b.constFloat([1])])]);
  return [ctx.b.op1('Mul', [masked(ctx.b, single(dY), inside), ctx.b.constFloat([alpha])])];
};

export const hardSwish: BackwardRule = (ctx, dY) => {
  const x = ctx.node.input![0];
  // torch: x < -3 -> 0; x <= 3 -> x/3 + 0.5; else 1.
  const slope = ctx.b.op1('Add', [ctx.b.op1('Div', [x, ctx.b.constFloat([3])]), ctx.b.constFloat([0.5])]);
  const upper = ctx.b.op1('Where', [ctx.b.op1('LessOrEqual', [x, ctx.b.constFloat([3])]), slope, ctx.b.constFloat([1])]);
  const d = ctx.b.op1('Where', [ctx.b.op1('Less', [x, ctx.b.constFloat([-3])]), ctx.b.constFloat([0]), upper]);
  return [ctx.b.op1('Mul', [single(dY), d])];
};
