/**
 * Shape inference and small-constant folding for the ops that transformer exports add to their
 * shape subgraphs: Swin's window padding and shifted-window masks (Mod, Range, ConstantOfShape,
 * ScatterND, the reversed-and-transposed pads torch writes for F.pad), ViT's class-token Expand
 * (Equal / Where over the target shape). Called by inferShapes before its own rules; returns
 * false for ops it leaves to them.
 */
import { attrInt, attrInts, decodeTensor, findAttr, type NodeProto } from './onnx-io.js';
import { broadcastShapes, type ConstValue } from './shape-values.js';

/** Same limit as shapes.ts: only small integer tensors are folded. */
const MAX_CONST_ELEMENTS = 64;
const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

function strides(dims: number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Values of `v` broadcast to `dims` (numpy rules). */
function broadcastValues(v: ConstValue, dims: number[]): number[] {
  const rank = dims.length;
  const src = [...new Array(rank - v.dims.length).fill(1), ...v.dims];
  const ss = strides(src);
  const ds = strides(dims);
  return Array.from({ length: prod(dims) }, (_, flat) => {
    let k = 0;
    for (let i = 0; i < rank; i++) {
      const idx = Math.floor(flat / ds[i]) % dims[i];
      k += (src[i] === 1 ? 0 : idx) * ss[i];
    }
    return v.values[k];
  });
}

export function inferTransformerNode(node: NodeProto, shapes: Map<string, number[]>, consts: Map<string, ConstValue>): boolean {
  const ins = node.input ?? [];
  const outs = node.output ?? [];
  const s = (i: number) => (ins[i] ? shapes.get(ins[i]) : undefined);
  const c = (i: number) => (ins[i] ? consts.get(ins[i]) : undefined);
  const setShape = (dims: number[] | undefined) => {
    if (dims && outs[0]) shapes.set(outs[0], dims);
    return true;
  };
  const setConst = (v: ConstValue) => {
    shapes.set(outs[0], v.dims);
    if (prod(v.dims) <= MAX_CONST_ELEMENTS) consts.set(outs[0], v);
    return true;
  };
  const elementwise = (f: (...v: number[]) => number) => {
    const all = ins.map((_, i) => s(i));
    if (all.some((d) => !d)) return true;
    const dims = broadcastShapes(all as number[][]);
    const vals = ins.map((_, i) => c(i));
    if (vals.every((v) => v) && prod(dims) <= MAX_CONST_ELEMENTS) {
      const cols = vals.map((v) => broadcastValues(v!, dims));
      return setConst({ dims, values: cols[0].map((_, k) => f(...cols.map((col) => col[k]))) });
    }
    return setShape(dims);
  };

  switch (node.opType) {
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      // Integer shape arithmetic with broadcasting (a [3] shape times a scalar -1, as ViT's
      // class-token expand writes); anything else is left to shapes.ts.
      const vals = ins.map((_, i) => c(i));
      if (!vals.every((v) => v && v.values.every(Number.isInteger))) return false;
      const op = node.opType;
      return elementwise((a, b) => (op === 'Add' ? a + b : op === 'Sub' ? a - b : op === 'Mul' ? a * b : Math.trunc(a / b)));
    }
    case 'Mod': {
      const fmod = attrInt(node, 'fmod', 0) === 1;
      return elementwise((a, b) => (fmod ? a % b : ((a % b) + b) % b));
    }
    case 'Equal':
      return elementwise((a, b) => Number(a === b));
    case 'Where':
      return elementwise((cond, a, b) => (cond ? a : b));
    case 'Not': {
      const v = c(0);
      return v ? setConst({ dims: v.dims, values: v.values.map((x) => Number(!x)) }) : setShape(s(0));
    }
    case 'Neg': {
      const v = c(0);
      return v ? setConst({ dims: v.dims, values: v.values.map((x) => -x) }) : setShape(s(0));
    }
    case 'Range': {
      const [start, limit, delta] = [c(0), c(1), c(2)].map((v) => v?.values[0]);
      if (start === undefined || limit === undefined || delta === undefined) return true;
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      return setConst({ dims: [n], values: Array.from({ length: n }, (_, i) => start + i * delta) });
    }
    case 'ConstantOfShape': {
      const dims = c(0)?.values;
      if (!dims) return true;
      const t = findAttr(node, 'value')?.t;
      const fill = t ? decodeTensor(t).values[0] ?? 0 : 0;
      return setConst({ dims, values: new Array(prod(dims)).fill(fill) });
    }
    case 'Expand': {
      const x = s(0);
      const target = c(1)?.values;
      if (!x || !target) return true;
      const dims = broadcastShapes([x, target]);
      const v = c(0);
      return v && prod(dims) <= MAX_CONST_ELEMENTS ? setConst({ dims, values: broadcastValues(v, dims) }) : setShape(dims);
    }
    case 'ScatterND':
      return setShape(s(0));
    case 'Transpose': {
      const v = c(0);
      if (!v) return false;
      const rank = v.dims.length;
      const perm = attrInts(node, 'perm') ?? v.dims.map((_, i) => rank - 1 - i);
      const dims = perm.map((p) => v.dims[p]);
      const src = strides(v.dims);
      const dst = strides(dims);
      const values = Array.from({ length: v.values.length }, (_, flat) => {
        let k = 0;
        for (let i = 0; i < rank; i++) k += (Math.floor(flat / dst[i]) % dims[i]) * src[perm[i]];
        return v.values[k];
      });
      return setConst({ dims, values });
    }
    case 'Slice': {
      // Constant N-D slices (shapes.ts folds 1-D ones): torch's F.pad reverses a [n, 2] pads table.
      const v = c(0);
      const starts = c(1)?.values;
      const ends = c(2)?.values;
      if (!v || v.dims.length < 2 || !starts || !ends) return false;
      const rank = v.dims.length;
      const axes = (c(3)?.values ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
      const steps = c(4)?.values ?? starts.map(() => 1);
      const picks = v.dims.map((d) => Array.from({ length: d }, (_, i) => i));
      axes.forEach((a, i) => {
        const d = v.dims[a];
        const step = steps[i];
        const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);
        let st = starts[i] < 0 ? starts[i] + d : starts[i];
        let en = ends[i] < 0 ? ends[i] + d : ends[i];
        st = step > 0 ? clamp(st, 0, d) : clamp(st, 0, d - 1);
        en = step > 0 ? clamp(en, 0, d) : clamp(en, -1, d - 1);
        const list: number[] = [];
        for (let p = st; step > 0 ? p < en : p > en; p += step) list.push(p);
        picks[a] = list;
      });
      const dims = picks.map((p) => p.length);
      const src = strides(v.dims);
      const dst = strides(dims);
      const values = Array.from({ length: prod(dims) }, (_, flat) => {
        let k = 0;
        for (let i = 0; i < rank; i++) k += picks[i][Math.floor(flat / dst[i]) % dims[i]] * src[i];
        return v.values[k];
      });
      return setConst({ dims, values });
    }
    default:
      return false;
  }
}
