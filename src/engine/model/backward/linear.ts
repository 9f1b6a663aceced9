/** Backward of Gemm and MatMul (input gradients; weights need none but are supported when on the path). */
import { attrFloat, attrInt } from '../onnx-io.js';
import { broadcastShapes } from '../shapes.js';
import { reduceToShape, single, unsupported, type BackwardRule } from './context.js';

export const gemm: BackwardRule = (ctx, dY) => {
  const g = single(dY);
  const [a, bMat, c] = ctx.node.input!;
  const transA = attrInt(ctx.node, 'transA', 0);
  const transB = attrInt(ctx.node, 'transB', 0);
  const alpha = attrFloat(ctx.node, 'alpha', 1);
  const beta = attrFloat(ctx.node, 'beta', 1);
  const gemm = (x: string, y: string, tA: number, tB: number) =>
    ctx.b.op1('Gemm', [x, y], { transA: tA, transB: tB, alpha: { float: alpha } });
  // Y = alpha op(A) op(B): dop(A) = alpha dY op(B)^T, dop(B) = alpha op(A)^T dY, transposed back
  // where A or B entered transposed.
  const dA = ctx.needs[0] ? (transA ? gemm(bMat, g, transB, 1) : gemm(g, bMat, 0, 1 - transB)) : null;
  const dB = ctx.needs[1] ? (transB ? gemm(g, a, 1, transA) : gemm(a, g, 1 - transA, 0)) : null;
  let dC: string | null = null;
  if (ctx.needs[2] && c) {
    const scaled = beta === 1 ? g : ctx.b.op1('Mul', [g, ctx.b.constFloat([beta])]);
    dC = reduceToShape(ctx, scaled, ctx.shape(ctx.node.output![0]), ctx.shape(c));
  }
  return [dA, dB, dC];
};

/** Swap the last two axes of a tensor of the given rank. */
function transposeLast(ctx: Parameters<BackwardRule>[0], x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return ctx.b.op1('Transpose', [x], { perm });
}

export const matMul: BackwardRule = (ctx, dY) => {
  const g = single(dY);
  const [a, bMat] = ctx.node.input!;
  const sa = ctx.shape(a);
  const sb = ctx.shape(bMat);
  if (sa.length < 2 || sb.length < 2) unsupported(ctx, '1-D operands');
  const batch = broadcastShapes([sa.slice(0, -2), sb.slice(0, -2)]);
  const sy = ctx.shape(ctx.node.output![0]);
  // dA = dY B^T has the broadcast batch dims; sum them away for operands that were broadcast.
  const dA = ctx.needs[0]
    ? reduceToShape(ctx, ctx.b.op1('MatMul', [g, transposeLast(ctx, bMat, sb.length)]), [...batch, sy[sy.length - 2], sb[sb.length - 2]], sa)
    : null;
  const dB = ctx.needs[1]
    ? reduceToShape(ctx, ctx.b.op1('MatMul', [transposeLast(ctx, a, sa.length), g]), [...batch, sa[sa.length - 1], sy[sy.length - 1]], sb)
    : null;
  return [dA, dB];
};
