/**
 * Static shape inference over an ONNX graph, for the ops the gradient builder supports and the
 * small integer "shape subgraphs" (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) that
 * torch's exporter emits for view/flatten: those are folded to constants so that Reshape
 * targets are known. A symbolic input dim (the batch) is taken as 1. Ops without a rule leave
 * their outputs unknown rather than failing: only the path to the logits must be known, and the
 * gradient builder reports what it is missing.
 */
import {
  attrInt,
  attrInts,
  attrString,
  decodeTensor,
  findAttr,
  toNumber,
  valueInfoDims,
  type GraphProto,
  type NodeProto,
} from './onnx-io.js';
import { inferTransformerNode } from './shapes-transformer.js';
import { broadcastShapes, type ConstValue } from './shape-values.js';

export { broadcastShapes, type ConstValue } from './shape-values.js';

export interface ShapeInfo {
  shapes: Map<string, number[]>;
  consts: Map<string, ConstValue>;
}

/** Constants bigger than this are not kept (weights): only their shapes are needed. */
const MAX_CONST_ELEMENTS = 64;

const UNARY_SAME_SHAPE = new Set([
  'Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Identity', 'Dropout', 'Tanh',
  'Softplus', 'Erf', 'Exp', 'Log', 'Neg', 'Abs', 'Sqrt', 'Softmax', 'LogSoftmax', 'Elu', 'Selu',
  'Gelu', 'Mish', 'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Cast',
  'PRelu', 'Reciprocal', 'Not', 'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN', 'IsInf', 'Softsign',
  'Celu', 'ThresholdedRelu', 'LRN', 'Hardmax', 'GroupNormalization', 'Sin', 'Cos',
]);

const BROADCAST = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Equal', 'Greater', 'Less', 'GreaterOrEqual',
  'LessOrEqual', 'And', 'Or', 'Where', 'Sum', 'Mean',
]);


const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

/** Visit every index of `dims` in row-major order. */
function forEachIndex(dims: number[], visit: (idx: number[]) => void): void {
  if (dims.some((d) => d === 0)) return;
  const idx = dims.map(() => 0);
  for (;;) {
    visit(idx);
    let k = dims.length - 1;
    while (k >= 0 && ++idx[k] === dims[k]) idx[k--] = 0;
    if (k < 0) return;
  }
}

/** Values of a constant read at `source(outIndex, axis)` per axis, for an output of `dims`. */
function gatherConst(v: ConstValue, dims: number[], source: (out: number, axis: number) => number): number[] {
  const strides = v.dims.map((_, a) => prod(v.dims.slice(a + 1)));
  const values: number[] = [];
  forEachIndex(dims, (idx) => values.push(v.values[idx.reduce((acc, i, a) => acc + source(i, a) * strides[a], 0)]));
  return values;
}
const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Spatial output size of a sliding window (Conv / pools), ONNX explicit-pad or auto_pad rules. */
export function windowOutput(
  size: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = dilation * (kernel - 1) + 1;
  const num = size + padBegin + padEnd - span;
  let out = (ceilMode ? Math.ceil(num / stride) : Math.floor(num / stride)) + 1;
  // As torch and ORT do: a last window that starts in the end padding is dropped.
  if (ceilMode && (out - 1) * stride >= size + padBegin) out -= 1;
  return out;
}

/** Explicit [begins..., ends...] pads of a Conv/pool node, resolving auto_pad from the input size. */
export function resolvePads(node: NodeProto, spatial: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const n = spatial.length;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const pads = new Array(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(spatial[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - spatial[i]);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i];
    }
    return pads;
  }
  if (autoPad === 'VALID') return new Array(2 * n).fill(0);
  return attrInts(node, 'pads') ?? new Array(2 * n).fill(0);
}

/** Infer the shapes of every tensor the rules cover; graph inputs with symbolic dims get 1. */
export function inferShapes(graph: GraphProto): ShapeInfo {
  const shapes = new Map<string, number[]>();
  const consts = new Map<string, ConstValue>();
  for (const init of graph.initializer ?? []) {
    const dims = (init.dims ?? []).map(toNumber);
    shapes.set(init.name!, dims);
    if (prod(dims) <= MAX_CONST_ELEMENTS) consts.set(init.name!, { dims, values: decodeTensor(init).values });
  }
  for (const input of graph.input ?? []) {
    if (shapes.has(input.name!)) continue;
    const dims = valueInfoDims(input);
    if (dims) shapes.set(input.name!, dims.map((d) => d ?? 1));
  }
  for (const node of graph.node ?? []) {
    inferNode(node, shapes, consts);
  }
  // Fall back on the exporter's own value_info for anything the rules left unknown.
  for (const v of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    if (shapes.has(v.name!)) continue;
    const dims = valueInfoDims(v);
    if (dims && dims.every((d) => d !== undefined)) shapes.set(v.name!, dims as number[]);
  }
  return { shapes, consts };
}

function inferNode(node: NodeProto, shapes: Map<string, number[]>, consts: Map<string, ConstValue>): void {
  const ins = node.input ?? [];
  const outs = node.output ?? [];
  const s = (i: number) => (ins[i] ? shapes.get(ins[i]) : undefined);
  const c = (i: number) => (ins[i] ? consts.get(ins[i]) : undefined);
  const setShape = (dims: number[] | undefined, k = 0) => {
    if (dims && outs[k]) shapes.set(outs[k], dims);
  };
  const setConst = (v: ConstValue) => {
    shapes.set(outs[0], v.dims);
    if (prod(v.dims) <= MAX_CONST_ELEMENTS) consts.set(outs[0], v);
  };
  const op = node.opType ?? '';
  const x = s(0);
  // Transformer shape subgraphs (Mod, Range, ConstantOfShape, Expand, constant N-D Slice, ...).
  if (inferTransformerNode(node, shapes, consts)) return;

  switch (op) {
    case 'Constant': {
      const t = findAttr(node, 'value')?.t;
      if (t) return setConst({ dims: (t.dims ?? []).map(toNumber), values: decodeTensor(t).values });
      const ints = attrInts(node, 'value_ints');
      if (ints) return setConst({ dims: [ints.length], values: ints });
      const vi = findAttr(node, 'value_int');
      if (vi) return setConst({ dims: [], values: [toNumber(vi.i)] });
      const vf = findAttr(node, 'value_float');
      if (vf) return setConst({ dims: [], values: [vf.f ?? 0] });
      return;
    }
    case 'Shape': {
      if (!x) return;
      const start = normAxis(attrInt(node, 'start', 0), x.length);
      const endAttr = findAttr(node, 'end');
      const end = endAttr ? normAxis(toNumber(endAttr.i), x.length) : x.length;
      const v = x.slice(Math.max(0, start), Math.min(x.length, end));
      return setConst({ dims: [v.length], values: v });
    }
    case 'Size':
      if (x) setConst({ dims: [], values: [prod(x)] });
      return;
    case 'Gather': {
      const data = c(0);
      const idx = c(1);
      const axis = attrInt(node, 'axis', 0);
      if (data && idx && data.dims.length <= 1 && axis === 0) {
        const n = data.values.length;
        return setConst({ dims: idx.dims, values: idx.values.map((i) => data.values[i < 0 ? i + n : i]) });
      }
      const is = s(1);
      if (x && is) {
        const a = normAxis(axis, x.length);
        setShape([...x.slice(0, a), ...is, ...x.slice(a + 1)]);
      }
      return;
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = c(1)?.values ?? attrInts(node, 'axes');
      if (!x) return;
      let dims: number[];
      if (op === 'Unsqueeze') {
        if (!axes) return;
        const rank = x.length + axes.length;
        const set = new Set(axes.map((a) => normAxis(a, rank)));
        dims = [];
        let j = 0;
        for (let i = 0; i < rank; i++) dims.push(set.has(i) ? 1 : x[j++]);
      } else {
        const set = axes ? new Set(axes.map((a) => normAxis(a, x.length))) : undefined;
        dims = x.filter((d, i) => (set ? !set.has(i) : d !== 1));
      }
      const v = c(0);
      return v ? setConst({ dims, values: v.values }) : setShape(dims);
    }
    case 'Concat': {
      const all = ins.map((_, i) => s(i));
      if (all.some((d) => !d)) return;
      const axis = normAxis(attrInt(node, 'axis', 0), all[0]!.length);
      const dims = [...all[0]!];
      dims[axis] = all.reduce((acc, d) => acc + d![axis], 0);
      const vals = ins.map((_, i) => c(i));
      if (dims.length === 1 && vals.every((v) => v)) return setConst({ dims, values: vals.flatMap((v) => v!.values) });
      return setShape(dims);
    }
    case 'Cast':
    case 'Identity': {
      const v = c(0);
      return v ? setConst(v) : setShape(x);
    }
    case 'Slice': {
      // Inputs from opset 10; attributes before (read here too: the opset upgrade asks for ranks).
      const starts = c(1)?.values ?? attrInts(node, 'starts');
      const ends = c(2)?.values ?? attrInts(node, 'ends');
      if (!x || !starts || !ends) return;
      const axes = c(3)?.values ?? attrInts(node, 'axes') ?? starts.map((_, i) => i);
      const steps = c(4)?.values ?? starts.map(() => 1);
      const dims = [...x];
      const ranges = x.map((d) => [0, d, 1]);
      axes.forEach((a0, i) => {
        const a = normAxis(a0, x.length);
        const d = x[a];
        const step = steps[i];
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
        let st = starts[i] < 0 ? starts[i] + d : starts[i];
        let en = ends[i] < 0 ? ends[i] + d : ends[i];
        st = step > 0 ? clamp(st, 0, d) : clamp(st, 0, d - 1);
        en = step > 0 ? clamp(en, 0, d) : clamp(en, -1, d - 1);
        dims[a] = Math.max(0, Math.ceil((en - st) / step));
        ranges[a] = [st, en, step];
      });
      const v = c(0);
      // Small constants of any rank are sliced too (torch's Pad exports reverse a [4, 2] table).
      if (v) return setConst({ dims, values: gatherConst(v, dims, (out, axis) => ranges[axis][0] + out * ranges[axis][2]) });
      return setShape(dims);
    }
    case 'Reshape': {
      const target = c(1)?.values;
      if (!x || !target) return;
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const dims = target.map((d, i) => (d === 0 && !allowZero ? x[i] : d));
      const known = prod(dims.filter((d) => d !== -1));
      const out = dims.map((d) => (d === -1 ? prod(x) / known : d));
      const v = c(0);
      return v ? setConst({ dims: out, values: v.values }) : setShape(out);
    }
    case 'Flatten': {
      if (!x) return;
      const axis = normAxis(attrInt(node, 'axis', 1), x.length);
      return setShape([prod(x.slice(0, axis)), prod(x.slice(axis))]);
    }
    case 'Transpose': {
      if (!x) return;
      const perm = attrInts(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      const dims = perm.map((p) => x[p]);
      const v = c(0);
      if (v) {
        // Output index i along axis k reads input axis perm[k]: invert to per-input-axis lookups.
        const values: number[] = [];
        const strides = x.map((_, a) => prod(x.slice(a + 1)));
        forEachIndex(dims, (idx) => values.push(v.values[idx.reduce((acc, i, k) => acc + i * strides[perm[k]], 0)]));
        return setConst({ dims, values });
      }
      return setShape(dims);
    }
    case 'Gemm': {
      const a = s(0);
      const b = s(1);
      if (!a || !b) return;
      const m = attrInt(node, 'transA', 0) ? a[1] : a[0];
      const n = attrInt(node, 'transB', 0) ? b[0] : b[1];
      return setShape([m, n]);
    }
    case 'MatMul': {
      const a = s(0);
      const b = s(1);
      if (!a || !b) return;
      const a2 = a.length === 1 ? [1, a[0]] : a;
      const b2 = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
      const dims = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
      if (a.length === 1) dims.splice(dims.length - 2, 1);
      if (b.length === 1) dims.splice(dims.length - 1, 1);
      return setShape(dims);
    }
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      if (!x) return;
      const spatial = x.slice(2);
      const w = s(1);
      const kernel = attrInts(node, 'kernel_shape') ?? (op === 'Conv' && w ? w.slice(2) : undefined);
      if (!kernel) return;
      const strides = attrInts(node, 'strides') ?? spatial.map(() => 1);
      const dil = attrInts(node, 'dilations') ?? spatial.map(() => 1);
      const pads = resolvePads(node, spatial, kernel, strides, dil);
      const ceil = attrInt(node, 'ceil_mode', 0) === 1;
      const out = spatial.map((d, i) => windowOutput(d, kernel[i], strides[i], pads[i], pads[i + spatial.length], dil[i], ceil));
      const channels = op === 'Conv' ? w?.[0] : x[1];
      if (channels === undefined) return;
      setShape([x[0], channels, ...out]);
      if (op === 'MaxPool') setShape([x[0], channels, ...out], 1);
      return;
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      if (x) setShape([x[0], x[1], ...x.slice(2).map(() => 1)]);
      return;
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL1':
    case 'ReduceL2':
    case 'ReduceLogSumExp':
    case 'ReduceSumSquare': {
      if (!x) return;
      // Axes: an attribute (ReduceSum < 13, the others < 18) or input 1 (from then on).
      const axes = attrInts(node, 'axes') ?? c(1)?.values;
      if (ins[1] && !c(1)) return;
      if ((!axes || axes.length === 0) && attrInt(node, 'noop_with_empty_axes', 0) === 1) return setShape(x);
      const keep = attrInt(node, 'keepdims', 1) === 1;
      const set = new Set((axes && axes.length ? axes : x.map((_, i) => i)).map((a) => normAxis(a, x.length)));
      return setShape(keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i)));
    }
    case 'Pad': {
      const pads = c(1)?.values ?? attrInts(node, 'pads');
      if (!x || !pads) return;
      const axes = c(3)?.values?.map((a) => normAxis(a, x.length)) ?? x.map((_, i) => i);
      const dims = [...x];
      axes.forEach((a, i) => (dims[a] += pads[i] + pads[i + axes.length]));
      return setShape(dims);
    }
    case 'Split': {
      if (!x) return;
      const axis = normAxis(attrInt(node, 'axis', 0), x.length);
      // Opset 18's num_outputs (or no sizes at all): equal parts, the last one smaller if need be.
      const part = Math.ceil(x[axis] / outs.length);
      const equal = outs.map((_, k) => Math.min(part, x[axis] - k * part));
      const split = c(1)?.values ?? attrInts(node, 'split') ?? equal;
      split.forEach((n, k) => setShape(x.map((d, i) => (i === axis ? n : d)), k));
      return;
    }
    case 'ConstantOfShape': {
      const dims = c(0)?.values;
      if (!dims) return;
      const t = findAttr(node, 'value')?.t;
      const fill = t ? decodeTensor(t).values[0] ?? 0 : 0;
      return setConst({ dims, values: new Array(prod(dims)).fill(fill) });
    }
    case 'Expand': {
      const target = c(1)?.values;
      if (!x || !target) return;
      const dims = broadcastShapes([x, target]);
      const v = c(0);
      if (v && prod(v.dims) === 1) return setConst({ dims, values: new Array(prod(dims)).fill(v.values[0]) });
      return setShape(dims);
    }
    case 'Tile': {
      const repeats = c(1)?.values;
      if (x && repeats) setShape(x.map((d, i) => d * repeats[i]));
      return;
    }
    case 'Range': {
      const [start, limit, delta] = [c(0), c(1), c(2)].map((v) => v?.values[0]);
      if (start === undefined || limit === undefined || delta === undefined || delta === 0) return;
      const n = Math.max(0, Math.ceil((limit - start) / delta));
      return setConst({ dims: [n], values: Array.from({ length: n }, (_, i) => start + i * delta) });
    }
    case 'Resize':
    case 'Upsample': {
      if (!x) return;
      // Resize-11+: [X, roi, scales, sizes] (opset 18 adds `axes`); Upsample/Resize-10: [X, scales].
      const scalesIn = op === 'Upsample' || ins.length === 2 ? c(1) : c(2);
      const scales = scalesIn?.values ?? findAttr(node, 'scales')?.floats ?? undefined;
      const sizes = c(3)?.values;
      const axes = (attrInts(node, 'axes') ?? x.map((_, i) => i)).map((a) => normAxis(a, x.length));
      const dims = [...x];
      if (sizes && sizes.length) axes.forEach((a, i) => (dims[a] = sizes[i]));
      else if (scales && scales.length) axes.forEach((a, i) => (dims[a] = Math.floor(x[a] * scales[i])));
      else return;
      return setShape(dims);
    }
    default:
      break;
  }
  if (BROADCAST.has(op)) {
    const all = ins.map((_, i) => s(i));
    if (all.some((d) => !d)) return;
    const dims = broadcastShapes(all as number[][]);
    const vals = ins.map((_, i) => c(i));
    const integral = vals.every((v) => v && prod(v.dims) === prod(dims) && v.values.every(Number.isInteger));
    if ((op === 'Add' || op === 'Sub' || op === 'Mul' || op === 'Div') && integral) {
      // Integer arithmetic on folded shapes (torch computes e.g. H*W for view).
      const [a, b] = vals as ConstValue[];
      const f = { Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q, Mul: (p: number, q: number) => p * q, Div: (p: number, q: number) => Math.trunc(p / q) }[op];
      return setConst({ dims, values: a.values.map((v, i) => f(v, b.values[i])) });
    }
    return setShape(dims);
  }
  if (UNARY_SAME_SHAPE.has(op)) setShape(x);
}
