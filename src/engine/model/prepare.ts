/**
 * Makes a model from any exporter ready for the gradient-graph builder and the candidate
 * listing, in place, before either looks at it:
 *
 * 1. the image input's dynamic dimensions get values: a symbolic or -1 batch becomes 1 (or the
 *    model's static batch stays), dynamic height/width come from `inputSize` (the caller's choice:
 *    a flag, model.json, the image); without one it is a DynamicInputError that says so;
 * 2. an NHWC image input (tf2onnx / Keras exports, [N,H,W,C]) is detected (or forced with
 *    `inputLayout`) and fronted by a Transpose, so callers always feed NCHW;
 * 3. opset 7-12 graphs are rewritten to opset-16 node forms (opset-upgrade.ts) and opset 13-15
 *    ones re-declared as 16, which the backward nodes need.
 *
 * Running it again on its own output changes nothing.
 */
import { DynamicInputError, ModelFormatError } from './errors.js';
import { InvalidOptionError } from '../errors.js';
import { DataType, decodeModel, encodeModel, makeNode, makeValueInfo, opsetVersion, toNumber, type GraphProto, type ModelProto, type ValueInfoProto } from './onnx-io.js';
import { upgradeGraphToOpset16, UPGRADED_OPSET } from './opset-upgrade.js';
import { inferShapes } from './shapes.js';

export type InputLayout = 'nchw' | 'nhwc';

export interface InputOptions {
  /** Height and width for an input whose H/W are dynamic (must equal them when they are static). */
  inputSize?: [number, number];
  /** The image input's layout; default: detected from where the channel dim (1 or 3) is. */
  inputLayout?: InputLayout;
}

/** What preparation found and chose, for reports ("which was used"). */
export interface PreparedInput {
  /** The input to feed (NCHW): the model's own, or the Transpose's new input for NHWC models. */
  name: string;
  /** Resolved NCHW shape. */
  shape: number[];
  /** The model's own layout, and whether it was detected, given, or assumed (undecidable). */
  layout: InputLayout;
  layoutSource: 'detected' | 'option' | 'assumed';
  /** The model's declared dims, symbolic ones by name ('?' when unnamed). */
  declared: (number | string)[];
  /** Which of batch/height/width were dynamic. */
  dynamic: ('batch' | 'height' | 'width')[];
  /** 'model' when H/W are static, 'option' when inputSize supplied them. */
  sizeSource: 'model' | 'option';
  /** Opset the model was exported with and the one its graph uses now. */
  opset: { exported: number; now: number };
}

/** The lowest opset the rewriter understands. */
export const MIN_OPSET = 7;

/** Image input: the first graph input that is not an initializer. */
export function imageInputOf(graph: GraphProto): ValueInfoProto {
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const input = (graph.input ?? []).find((i) => !initializers.has(i.name));
  if (!input) throw new ModelFormatError('model has no input (all inputs are initializers)');
  return input;
}

/** Declared dims of a value: numbers where static, the symbolic name (or '?') where not. */
export function declaredDims(v: ValueInfoProto): (number | string)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => {
    const value = d.dimValue != null ? toNumber(d.dimValue) : 0;
    return value > 0 ? value : d.dimParam || (d.dimValue != null && value < 0 ? String(value) : '?');
  });
}

const isChannelCount = (d: number | string | undefined) => d === 1 || d === 3;

/** Where an [N, ?, ?, ?] input keeps its channels: [N,C,H,W] or [N,H,W,C]. */
export function detectLayout(dims: readonly (number | string)[]): { layout: InputLayout; source: 'detected' | 'assumed' } {
  if (isChannelCount(dims[1])) return { layout: 'nchw', source: 'detected' };
  if (isChannelCount(dims[3])) return { layout: 'nhwc', source: 'detected' };
  if (typeof dims[1] === 'number' && typeof dims[3] !== 'number') return { layout: 'nchw', source: 'detected' };
  if (typeof dims[3] === 'number' && typeof dims[1] !== 'number') return { layout: 'nhwc', source: 'detected' };
  return { layout: 'nchw', source: 'assumed' };
}

/** Whether the model's image input has dynamic height or width (so an input size is needed). */
export function inputNeedsSize(bytes: Uint8Array, layout?: InputLayout): boolean {
  const graph = decodeModel(bytes).graph!;
  const dims = declaredDims(imageInputOf(graph));
  if (!dims || dims.length !== 4) return false;
  const l = layout ?? detectLayout(dims).layout;
  const [h, w] = l === 'nchw' ? [dims[2], dims[3]] : [dims[1], dims[2]];
  return typeof h !== 'number' || typeof w !== 'number';
}

export function prepareModel(model: ModelProto, options: InputOptions = {}): PreparedInput {
  const graph = model.graph!;
  const exported = opsetVersion(model);
  if (exported < MIN_OPSET) throw new ModelFormatError(`model uses ONNX opset ${exported}; re-export it with opset ${MIN_OPSET} or newer`);
  const input = imageInputOf(graph);
  const declared = declaredDims(input) ?? [];
  const dynamic: PreparedInput['dynamic'] = [];
  let layout: InputLayout = 'nchw';
  let layoutSource: PreparedInput['layoutSource'] = 'assumed';
  let sizeSource: PreparedInput['sizeSource'] = 'model';
  let shape: number[];

  if (declared.length === 4) {
    if (options.inputLayout) {
      layout = options.inputLayout;
      layoutSource = 'option';
    } else ({ layout, source: layoutSource } = detectLayout(declared));
    const at = layout === 'nchw' ? { c: 1, h: 2, w: 3 } : { c: 3, h: 1, w: 2 };
    const batch = typeof declared[0] === 'number' ? declared[0] : (dynamic.push('batch'), 1);
    const channels = declared[at.c];
    if (typeof channels !== 'number') {
      throw new DynamicInputError(`input '${input.name}' [${declared.join(',')}] has a dynamic channel dim; give the model a static channel count (or set the layout: --layout nchw|nhwc)`);
    }
    const hw = [declared[at.h], declared[at.w]];
    if (typeof hw[0] !== 'number') dynamic.push('height');
    if (typeof hw[1] !== 'number') dynamic.push('width');
    let [height, width] = hw;
    if (options.inputSize) {
      const [h, w] = options.inputSize;
      if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new InvalidOptionError(`input size ${h}x${w} must be two positive integers`);
      if ((typeof height === 'number' && height !== h) || (typeof width === 'number' && width !== w)) {
        throw new InvalidOptionError(`input size ${h}x${w} does not fit input '${input.name}' [${declared.join(',')}]: its fixed height/width is ${height}x${width}; drop the input size or give that one`);
      }
      if (typeof height !== 'number' || typeof width !== 'number') sizeSource = 'option';
      [height, width] = [h, w];
    }
    if (typeof height !== 'number' || typeof width !== 'number') {
      throw new DynamicInputError(
        `input '${input.name}' [${declared.join(',')}] has a dynamic height/width; give an input size (CLI: --input-size HxW, or input_size in model.json; library: inputSize)`,
      );
    }
    const own = layout === 'nchw' ? [batch, channels, height, width] : [batch, height, width, channels];
    setDims(input, own);
    shape = [batch, channels, height, width];
  } else {
    if (options.inputLayout === 'nhwc') throw new InvalidOptionError(`layout nhwc needs a 4-D image input; input '${input.name}' is [${declared.join(',')}]`);
    shape = declared.map((d, i) => (typeof d === 'number' ? d : (i === 0 && dynamic.push('batch'), 1)));
    if (declared.length) setDims(input, shape);
  }

  // Opset: old node forms rewritten (needs ranks: shapes of the graph with its input resolved).
  if (exported < 13) upgradeGraphToOpset16(graph, exported, inferShapes(graph));
  if (exported < UPGRADED_OPSET) {
    for (const o of model.opsetImport ?? []) if (!o.domain || o.domain === 'ai.onnx') o.version = UPGRADED_OPSET;
  }

  let name = input.name!;
  if (layout === 'nhwc' && declared.length === 4) {
    const names = new Set([...(graph.input ?? []).map((i) => i.name), ...(graph.node ?? []).flatMap((n) => n.output ?? [])]);
    name = `${input.name}_nchw`;
    for (let k = 0; names.has(name); k++) name = `${input.name}_nchw${k}`;
    const elemType = input.type?.tensorType?.elemType ?? DataType.FLOAT;
    graph.node = [makeNode('Transpose', [name], [input.name!], `${name}_to_nhwc`, { perm: [0, 2, 3, 1] }), ...(graph.node ?? [])];
    graph.input = (graph.input ?? []).map((i) => (i === input ? makeValueInfo(name, elemType, shape) : i));
  }
  return { name, shape, layout, layoutSource, declared, dynamic, sizeSource, opset: { exported, now: Math.max(exported, UPGRADED_OPSET) } };
}

function setDims(v: ValueInfoProto, dims: number[]): void {
  const shape = v.type!.tensorType!.shape!;
  shape.dim = dims.map((d) => ({ dimValue: d }));
}

/** prepareModel on bytes: the prepared model's bytes and what was chosen. */
export function prepareModelBytes(bytes: Uint8Array, options: InputOptions = {}): { bytes: Uint8Array; input: PreparedInput } {
  const model = decodeModel(bytes);
  const input = prepareModel(model, options);
  return { bytes: encodeModel(model), input };
}

/** The model with `name` (a node output) also declared as a graph output, e.g. the logits under a Softmax head. */
export function withGraphOutput(bytes: Uint8Array, name: string): Uint8Array {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  if ((graph.output ?? []).some((o) => o.name === name)) return bytes;
  graph.output = [...(graph.output ?? []), { name, type: { tensorType: { elemType: DataType.FLOAT } } }];
  return encodeModel(model);
}
