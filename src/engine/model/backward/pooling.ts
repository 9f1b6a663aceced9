/** Backward of GlobalAveragePool, AveragePool, MaxPool and ReduceMean. */
import { attrInt, attrInts } from '../onnx-io.js';
import { resolvePads } from '../shapes.js';
import { single, unsupported, type BackwardContext, type BackwardRule } from './context.js';

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

export const globalAveragePool: BackwardRule = (ctx, dY) => {
  const sx = ctx.shape(ctx.node.input![0]);
  const scaled = ctx.b.op1('Div', [single(dY), ctx.b.constFloat([prod(sx.slice(2))])]);
  return [ctx.b.op1('Expand', [scaled, ctx.b.constInt64(sx)])];
};

interface Window {
  sx: number[];
  sy: number[];
  kernel: number[];
  strides: number[];
  pads: number[];
}

function windowOf(ctx: BackwardContext): Window {
  const sx = ctx.shape(ctx.node.input![0]);
  const sy = ctx.shape(ctx.node.output![0]);
  const spatial = sx.slice(2);
  const kernel = attrInts(ctx.node, 'kernel_shape');
  if (!kernel) unsupported(ctx, 'no kernel_shape');
  const strides = attrInts(ctx.node, 'strides') ?? spatial.map(() => 1);
  const dilations = attrInts(ctx.node, 'dilations') ?? spatial.map(() => 1);
  if (dilations.some((d) => d !== 1)) unsupported(ctx, 'dilated pooling');
  return { sx, sy, kernel, strides, pads: resolvePads(ctx.node, spatial, kernel, strides, dilations) };
}

export const averagePool: BackwardRule = (ctx, dY) => {
  const { sx, sy, kernel, strides, pads } = windowOf(ctx);
  const n = kernel.length;
  const includePad = attrInt(ctx.node, 'count_include_pad', 0) === 1;
  // Each output averaged over its window's valid cells (padding counted or not); windows are boxes,
  // so the divisor is the product of per-axis counts. Computed here, stored as a constant.
  const perAxis = sy.slice(2).map((o, i) =>
    Array.from({ length: o }, (_, j) => {
      const start = j * strides[i] - pads[i];
      const lo = includePad ? -pads[i] : 0;
      const hi = includePad ? sx[i + 2] + pads[i + n] : sx[i + 2];
      return Math.min(start + kernel[i], hi) - Math.max(start, lo);
    }),
  );
  let counts = [1];
  for (const axis of perAxis) counts = counts.flatMap((c) => axis.map((a) => c * a));
  const divided = ctx.b.op1('Div', [single(dY), ctx.b.constFloat(counts, sy.slice(2))]);
  // Scatter each output back over its window: a depthwise ConvTranspose with an all-ones kernel
  // (overlapping windows accumulate). Extra rows at the end come from output_padding, or from
  // larger end pads where ceil_mode made windows run past the input.
  const endPads = pads.slice(n);
  const outputPadding = sx.slice(2).map((d, i) => {
    const full = (sy[i + 2] - 1) * strides[i] + kernel[i] - pads[i] - endPads[i];
    if (full > d) endPads[i] += full - d;
    return Math.max(0, d - full);
  });
  const channels = sx[1];
  const ones = ctx.b.constFloat(new Array(channels * prod(kernel)).fill(1), [channels, 1, ...kernel]);
  const dX = ctx.b.op1('ConvTranspose', [divided, ones], {
    strides,
    pads: [...pads.slice(0, n), ...endPads],
    group: channels,
    kernel_shape: kernel,
    output_padding: outputPadding,
  });
  return [ctx.b.setShape(dX, sx)];
};

export const maxPool: BackwardRule = (ctx, dY) => {
  const { sx } = windowOf(ctx);
  if (attrInt(ctx.node, 'storage_order', 0) !== 0) unsupported(ctx, 'storage_order=1');
  // Ask the forward MaxPool for the argmax of every window (indices into the flattened input),
  // then scatter-add the output gradient there: overlapping windows that share a maximum add up.
  const outs = ctx.node.output!;
  if (!outs[1]) {
    outs[1] = ctx.b.fresh('maxpool_indices');
    ctx.b.setShape(outs[1], ctx.shape(outs[0]));
  }
  const flat = ctx.b.constInt64([-1]);
  const zeros = ctx.b.op1('ConstantOfShape', [ctx.b.constInt64([prod(sx)])]);
  const scattered = ctx.b.op1(
    'ScatterElements',
    [zeros, ctx.b.op1('Reshape', [outs[1], flat]), ctx.b.op1('Reshape', [single(dY), flat])],
    { axis: 0, reduction: 'add' },
  );
  return [ctx.b.setShape(ctx.b.op1('Reshape', [scattered, ctx.b.constInt64(sx)]), sx)];
};

export const reduceMean: BackwardRule = (ctx, dY) => {
  const [x, axesInput] = ctx.node.input!;
  const sx = ctx.shape(x);
  let axes = attrInts(ctx.node, 'axes') ?? (axesInput ? ctx.constant(axesInput) : undefined);
  if (axesInput && !axes) unsupported(ctx, 'axes input is not a constant');
  if (!axes || axes.length === 0) {
    if (attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1) return [single(dY), null];
    axes = sx.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => (a < 0 ? a + sx.length : a)));
  const kept = sx.map((d, i) => (set.has(i) ? 1 : d));
  const count = prod(sx.filter((_, i) => set.has(i)));
  const g = ctx.b.op1('Reshape', [single(dY), ctx.b.constInt64(kept)]);
  const scaled = ctx.b.op1('Div', [g, ctx.b.constFloat([count])]);
  return [ctx.b.setShape(ctx.b.op1('Expand', [scaled, ctx.b.constInt64(sx)]), sx), null];
};

