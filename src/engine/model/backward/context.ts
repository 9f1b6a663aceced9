/**
 * What every backward rule gets: the forward node's static shapes and constants, and a small
 * builder that appends new nodes and initializers under unique names.
 */
import { floatTensor, int64Tensor, makeNode, type AttrValue, type NodeProto, type TensorProto } from '../onnx-io.js';
import type { ShapeInfo } from '../shapes.js';
import { UnsupportedOpError } from '../errors.js';

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;

  constructor(
    readonly info: ShapeInfo,
    /** Prefix that no tensor of the original graph uses. */
    private readonly prefix: string,
  ) {}

  fresh(hint: string): string {
    return `${this.prefix}${hint}_${this.counter++}`;
  }

  /** Append one node; returns its output names (`outputs` of them). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push(makeNode(opType, inputs, names, this.fresh(`${opType}_node`), attrs));
    return names;
  }

  /** Single-output shorthand. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}): string {
    return this.op(opType, inputs, attrs)[0];
  }

  constFloat(values: ArrayLike<number>, dims: number[] = []): string {
    const name = this.fresh('const_f');
    this.initializers.push(floatTensor(name, dims, values));
    this.info.shapes.set(name, dims);
    return name;
  }

  constInt64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const_i');
    this.initializers.push(int64Tensor(name, dims, values));
    this.info.shapes.set(name, dims);
    this.info.consts.set(name, { dims, values });
    return name;
  }

  /** Record a static shape for a tensor the builder created (so later rules can use it). */
  setShape(name: string, dims: number[]): string {
    this.info.shapes.set(name, dims);
    return name;
  }
}

export interface BackwardContext {
  b: GraphBuilder;
  node: NodeProto;
  /** Which inputs lie on the path from the target (need a gradient). */
  needs: boolean[];
  /** Static shape of a tensor; throws UnsupportedOpError naming the node when unknown. */
  shape(name: string): number[];
  /** Statically known values (initializers, folded constants), if any. */
  constant(name: string): number[] | undefined;
}

/**
 * A backward rule: given the gradients of the node's outputs (null where an output does not reach
 * the logits), return the gradient of each input (null where none is needed).
 */
export type BackwardRule = (ctx: BackwardContext, dY: (string | null)[]) => (string | null)[];

export function unsupported(ctx: BackwardContext, detail: string): never {
  throw new UnsupportedOpError(ctx.node.opType ?? '?', ctx.node.name || (ctx.node.output ?? [])[0] || '?', detail);
}

/** Sum a broadcast gradient back to the shape of the input it came from (ReduceSum + Reshape). */
export function reduceToShape(ctx: BackwardContext, grad: string, gradShape: number[], target: number[]): string {
  if (gradShape.length === target.length && gradShape.every((d, i) => d === target[i])) return grad;
  const lead = gradShape.length - target.length;
  const axes: number[] = [];
  gradShape.forEach((d, i) => {
    const t = i < lead ? undefined : target[i - lead];
    if (t === undefined || (t === 1 && d !== 1)) axes.push(i);
  });
  let out = grad;
  if (axes.length) out = ctx.b.op1('ReduceSum', [grad, ctx.b.constInt64(axes)], { keepdims: 1 });
  return ctx.b.setShape(ctx.b.op1('Reshape', [out, ctx.b.constInt64(target)]), target);
}

/** The single output gradient of a one-output node (rules are only called when it exists). */
export function single(dY: (string | null)[]): string {
  return dY[0]!;
}
