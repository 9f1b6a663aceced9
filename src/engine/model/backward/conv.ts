/** Backward of Conv (via ConvTranspose with the same weights) and inference BatchNormalization. */
import { attrFloat, attrInt, attrInts } from '../onnx-io.js';
import { resolvePads } from '../shapes.js';
import { single, unsupported, type BackwardRule } from './context.js';

export const conv: BackwardRule = (ctx, dY) => {
  if (ctx.needs[1] || ctx.needs[2]) unsupported(ctx, 'weights or bias computed from the target');
  const [x, w] = ctx.node.input!;
  const sx = ctx.shape(x);
  const sw = ctx.shape(w);
  const sy = ctx.shape(ctx.node.output![0]);
  const spatial = sx.slice(2);
  const kernel = attrInts(ctx.node, 'kernel_shape') ?? sw.slice(2);
  const strides = attrInts(ctx.node, 'strides') ?? spatial.map(() => 1);
  const dilations = attrInts(ctx.node, 'dilations') ?? spatial.map(() => 1);
  const pads = resolvePads(ctx.node, spatial, kernel, strides, dilations);
  const n = spatial.length;
  // ConvTranspose's output is (O-1)s + d(k-1) + 1 - pads; rows the forward stride skipped at the
  // end come back through output_padding so that dX has exactly the input's shape.
  const outputPadding = spatial.map(
    (d, i) => d - ((sy[i + 2] - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - pads[i] - pads[i + n]),
  );
  if (outputPadding.some((p) => p < 0)) unsupported(ctx, 'output shape inconsistent with its input shape');
  // Conv weights [Cout, Cin/g, k...] are exactly ConvTranspose weights mapping Cout -> Cin.
  const dX = ctx.b.op1('ConvTranspose', [single(dY), w], {
    strides,
    pads,
    dilations,
    group: attrInt(ctx.node, 'group', 1),
    kernel_shape: kernel,
    output_padding: outputPadding,
  });
  return [ctx.b.setShape(dX, sx), null, null];
};

export const batchNormalization: BackwardRule = (ctx, dY) => {
  if (ctx.needs.slice(1).some(Boolean)) unsupported(ctx, 'scale/bias/statistics computed from the target');
  if (attrInt(ctx.node, 'training_mode', 0) === 1) unsupported(ctx, 'training_mode=1 (export the model in eval mode)');
  const [x, scale, , , variance] = ctx.node.input!;
  const rank = ctx.shape(x).length;
  const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
  // Inference BN is per-channel affine: dX = dY * scale / sqrt(var + eps).
  const factor = ctx.b.op1('Div', [scale, ctx.b.op1('Sqrt', [ctx.b.op1('Add', [variance, ctx.b.constFloat([eps])])])]);
  const shaped = ctx.b.op1('Reshape', [factor, ctx.b.constInt64([1, -1, ...new Array(rank - 2).fill(1)])]);
  return [ctx.b.op1('Mul', [single(dY), shaped]), null, null, null, null];
};
