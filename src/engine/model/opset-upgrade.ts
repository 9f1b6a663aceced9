/**
 * Rewrites the nodes of an opset 7-12 model into their opset-16 forms, so that the gradient
 * graph (whose backward nodes need opset >= 16: ScatterElements with reduction, Split and
 * ReduceSum with their arguments as inputs) can be appended to it. Only the ops whose signature
 * changed between opset 7 and 16 are touched:
 *
 * - attributes that became inputs: Squeeze/Unsqueeze/ReduceSum `axes` and Split `split` (13),
 *   Clip `min`/`max` and Pad `pads`/`value` (11), Slice `starts`/`ends`/`axes` (10), TopK `k` (10);
 * - Upsample (removed in 10) and Resize-10 become Resize-11+ with the same sampling
 *   (asymmetric coordinates, nearest rounds down);
 * - BatchNormalization's `spatial` (removed in 9) and Dropout's `ratio` (an input from 12,
 *   unused at inference) are dropped;
 * - Softmax/LogSoftmax/Hardmax before 13 flatten to 2-D at `axis` (default 1): on the last axis
 *   that is the opset-13 op with axis -1; elsewhere it is spelled out as Flatten, the op on
 *   axis 1, and a Reshape back.
 *
 * Anything else is the same op at both opsets. Opset 13-15 models need no rewriting.
 */
import { UnsupportedOpError } from './errors.js';
import { attrInt, attrInts, findAttr, floatTensor, int64Tensor, makeNode, type GraphProto, type NodeProto, type TensorProto } from './onnx-io.js';
import type { ShapeInfo } from './shapes.js';

export const UPGRADED_OPSET = 16;

function fail(node: NodeProto, detail: string): never {
  throw new UnsupportedOpError(
    node.opType ?? '?',
    node.name || node.output?.[0] || '?',
    detail,
    're-export the model with opset 13 or newer',
    'in this opset < 13 model',
  );
}

/**
 * Upgrade `graph` (imported at `opset` < 13) in place to opset-16 node forms. `info` (shapes of
 * the original graph) gives tensor ranks where a rewrite depends on them.
 */
export function upgradeGraphToOpset16(graph: GraphProto, opset: number, info: ShapeInfo): void {
  const added: TensorProto[] = [];
  const taken = new Set<string>([
    ...(graph.initializer ?? []).map((t) => t.name!),
    ...(graph.node ?? []).flatMap((n) => [...(n.output ?? []), n.name ?? '']),
  ]);
  let counter = 0;
  const fresh = (hint: string) => {
    let name: string;
    do name = `/opset_upgrade/${hint}_${counter++}`;
    while (taken.has(name));
    taken.add(name);
    return name;
  };
  const ints = (values: number[]) => {
    const name = fresh('ints');
    added.push(int64Tensor(name, [values.length], values));
    return name;
  };
  const scalar = (value: number) => {
    const name = fresh('float');
    added.push(floatTensor(name, [], [value]));
    return name;
  };
  const floats = (values: number[]) => {
    const name = fresh('floats');
    added.push(floatTensor(name, [values.length], values));
    return name;
  };
  const withoutAttrs = (node: NodeProto, names: string[]) => {
    node.attribute = (node.attribute ?? []).filter((a) => !names.includes(a.name ?? ''));
  };
  const inputs = (node: NodeProto) => (node.input = node.input ?? []);

  const out: NodeProto[] = [];
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const domain = node.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx') {
      out.push(node);
      continue;
    }
    switch (op) {
      case 'Squeeze':
      case 'Unsqueeze':
      case 'ReduceSum': {
        const axes = attrInts(node, 'axes');
        withoutAttrs(node, ['axes']);
        if (axes) inputs(node)[1] = ints(axes);
        break;
      }
      case 'Split': {
        const split = attrInts(node, 'split');
        withoutAttrs(node, ['split']);
        if (split) inputs(node)[1] = ints(split);
        break;
      }
      case 'Clip':
        if (opset < 11) {
          const lo = findAttr(node, 'min');
          const hi = findAttr(node, 'max');
          withoutAttrs(node, ['min', 'max']);
          node.input = [inputs(node)[0], lo ? scalar(lo.f ?? 0) : '', hi ? scalar(hi.f ?? 0) : ''];
          while (node.input.length > 1 && node.input[node.input.length - 1] === '') node.input.pop();
        }
        break;
      case 'Pad':
        if (opset < 11) {
          const pads = attrInts(node, 'pads') ?? fail(node, 'no pads attribute');
          const value = findAttr(node, 'value')?.f ?? 0;
          withoutAttrs(node, ['pads', 'value']);
          node.input = [inputs(node)[0], ints(pads), ...(value !== 0 ? [scalar(value)] : [])];
        }
        break;
      case 'Slice':
        if (opset < 10) {
          const starts = attrInts(node, 'starts') ?? fail(node, 'no starts attribute');
          const ends = attrInts(node, 'ends') ?? fail(node, 'no ends attribute');
          const axes = attrInts(node, 'axes');
          withoutAttrs(node, ['starts', 'ends', 'axes']);
          node.input = [inputs(node)[0], ints(starts), ints(ends), ...(axes ? [ints(axes)] : [])];
        }
        break;
      case 'TopK':
        if (opset < 10) {
          const k = attrInt(node, 'k', -1);
          withoutAttrs(node, ['k']);
          node.input = [inputs(node)[0], ints([k])];
        }
        break;
      case 'Upsample':
      case 'Resize': {
        if (op === 'Resize' && opset >= 11) break;
        // Upsample-7 has its scales as an attribute, Upsample-9 and Resize-10 as input 1.
        const scalesAttr = findAttr(node, 'scales')?.floats;
        const scales = scalesAttr && scalesAttr.length ? floats([...scalesAttr]) : inputs(node)[1];
        if (!scales) fail(node, 'no scales');
        const mode = findAttr(node, 'mode');
        const modeName = mode?.s ? new TextDecoder().decode(mode.s) : 'nearest';
        node.opType = 'Resize';
        node.input = [inputs(node)[0], '', scales];
        node.attribute = makeNode('Resize', [], [], '', {
          mode: modeName === 'bilinear' ? 'linear' : modeName,
          coordinate_transformation_mode: 'asymmetric',
          nearest_mode: 'floor',
        }).attribute;
        break;
      }
      case 'BatchNormalization':
        if (opset < 9) {
          if (attrInt(node, 'spatial', 1) !== 1) fail(node, 'spatial=0 (per-element statistics)');
          withoutAttrs(node, ['spatial']);
        }
        break;
      case 'Dropout':
        if (opset < 12) withoutAttrs(node, ['ratio']);
        break;
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax': {
        const x = inputs(node)[0];
        const rank = info.shapes.get(x)?.length;
        const axis0 = attrInt(node, 'axis', 1);
        const axis = rank !== undefined && axis0 < 0 ? axis0 + rank : axis0;
        withoutAttrs(node, ['axis']);
        if (rank !== undefined && axis === rank - 1) {
          node.attribute!.push(...(makeNode(op, [], [], '', { axis: -1 }).attribute ?? []));
          break;
        }
        // Coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])] as the old opsets define it.
        const flat = fresh('flat');
        const inner = fresh('inner');
        const shape = fresh('shape');
        out.push(makeNode('Flatten', [x], [flat], fresh('flatten_node'), { axis }));
        out.push(makeNode(op, [flat], [inner], node.name ?? fresh('node'), { axis: -1 }));
        out.push(makeNode('Shape', [x], [shape], fresh('shape_node')));
        out.push(makeNode('Reshape', [inner, shape], node.output ?? [], fresh('reshape_node')));
        continue;
      }
      default:
        break;
    }
    out.push(node);
  }
  graph.node = out;
  graph.initializer = [...(graph.initializer ?? []), ...added];
}
