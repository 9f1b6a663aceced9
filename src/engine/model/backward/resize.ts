/**
 * Backward of nearest-neighbour Resize (and Upsample, rewritten to Resize by opset-upgrade.ts)
 * by whole factors, the form upsampling takes inside classifiers: each input pixel is copied to
 * an s1 x s2 block, so its gradient is the sum over that block (Reshape + ReduceSum).
 * Sampling modes that do not copy whole blocks are refused with the reason.
 */
import { attrString } from '../onnx-io.js';
import { single, unsupported, type BackwardRule } from './context.js';

export const resize: BackwardRule = (ctx, dY) => {
  if (ctx.needs.slice(1).some(Boolean)) unsupported(ctx, 'scales or sizes computed from the target');
  const x = ctx.node.input![0];
  const sx = ctx.shape(x);
  const sy = ctx.shape(ctx.node.output![0]);
  const mode = attrString(ctx.node, 'mode', 'nearest');
  if (mode !== 'nearest') unsupported(ctx, `mode '${mode}' (only nearest-neighbour upsampling by whole factors has a backward rule)`);
  const coords = attrString(ctx.node, 'coordinate_transformation_mode', 'half_pixel');
  const rounding = attrString(ctx.node, 'nearest_mode', 'round_prefer_floor');
  // With a whole factor s, these pairs map output pixel k*s + r (0 <= r < s) to input pixel k.
  const blocks =
    (coords === 'asymmetric' && rounding === 'floor') ||
    ((coords === 'half_pixel' || coords === 'pytorch_half_pixel') && rounding.startsWith('round_prefer'));
  if (!blocks) unsupported(ctx, `coordinate_transformation_mode '${coords}' with nearest_mode '${rounding}' does not copy whole blocks`);
  const factors = sx.map((d, i) => sy[i] / d);
  if (factors.some((f) => !Number.isInteger(f) || f < 1)) unsupported(ctx, `scale factors [${factors.join(',')}] are not whole numbers`);
  const split = sx.flatMap((d, i) => [d, factors[i]]);
  const g = ctx.b.op1('Reshape', [single(dY), ctx.b.constInt64(split)]);
  const summed = ctx.b.op1('ReduceSum', [g, ctx.b.constInt64(sx.map((_, i) => 2 * i + 1))], { keepdims: 0 });
  return [ctx.b.setShape(summed, sx), null, null, null];
};
