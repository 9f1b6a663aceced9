/**
 * Reading and writing ONNX ModelProto bytes (with the small codec in onnx-codec.ts), plus the
 * helpers the graph rewriters need: attribute access, tensor decoding and node/tensor
 * construction. int64 fields may decode as bigints; everything here hands out plain numbers.
 */
import { ModelFormatError } from './errors.js';
import {
  AttributeType,
  decodeModelProto,
  encodeModelProto,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-codec.js';

export type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto };

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

/** A decoded int64 field (number or bigint) as a plain number. */
export function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Decode model bytes; anything that is not a ModelProto with a graph gives ModelFormatError. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = decodeModelProto(bytes);
  } catch (e) {
    throw new ModelFormatError(`not an ONNX model (${(e as Error).message.split('\n')[0]}); pass the bytes of a .onnx file`);
  }
  // Random bytes sometimes decode "successfully" into an empty message; a real model has a graph
  // with nodes and declares the ai.onnx opset.
  if (!model.graph || !model.graph.node || model.graph.node.length === 0 || toNumber(model.irVersion) <= 0) {
    throw new ModelFormatError('not an ONNX model (no graph found); pass the bytes of a .onnx file');
  }
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return encodeModelProto(model);
}

/** The ai.onnx opset version the model imports (default domain). */
export function opsetVersion(model: ModelProto): number {
  for (const o of model.opsetImport ?? []) if (!o.domain || o.domain === 'ai.onnx') return toNumber(o.version);
  return 0;
}

// --- attributes ---------------------------------------------------------------------------

export function findAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a && a.i != null ? toNumber(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a && a.f != null ? a.f : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  return a && a.ints && a.ints.length ? a.ints.map(toNumber) : undefined;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = findAttr(node, name);
  return a && a.s && a.s.length ? new TextDecoder().decode(a.s) : fallback;
}

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

/** Build an attribute: integers as INT(S), `{ float }` / `{ floats }` for floats, strings as STRING. */
export function makeAttr(name: string, value: AttrValue): AttributeProto {
  const T = AttributeType;
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}

// --- tensors ------------------------------------------------------------------------------

export interface DecodedTensor {
  dims: number[];
  dataType: number;
  /** Element values as numbers (int64 beyond 2^53 loses precision; shapes never get there). */
  values: number[];
}

/** Decode a TensorProto's values (float, double, int32, int64, bool) from typed fields or raw_data. */
export function decodeTensor(t: TensorProto): DecodedTensor {
  const dims = (t.dims ?? []).map(toNumber);
  const dataType = t.dataType ?? 0;
  const count = dims.reduce((a, b) => a * b, 1);
  let values: number[] = [];
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (raw) {
    // raw_data is a view into the model buffer (in Node a Buffer from a shared pool, where even
    // slice() does not copy), at any offset: read it through a DataView over exactly its bytes.
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) {
      switch (dataType) {
        case DataType.FLOAT: values.push(view.getFloat32(i * 4, true)); break;
        case DataType.DOUBLE: values.push(view.getFloat64(i * 8, true)); break;
        case DataType.INT32: values.push(view.getInt32(i * 4, true)); break;
        case DataType.INT64: values.push(Number(view.getBigInt64(i * 8, true))); break;
        case DataType.BOOL: values.push(view.getUint8(i)); break;
        default: throw new ModelFormatError(`tensor '${t.name}' has data type ${dataType}, which this tooling cannot read`);
      }
    }
  } else if (dataType === DataType.FLOAT) values = [...(t.floatData ?? [])];
  else if (dataType === DataType.DOUBLE) values = [...(t.doubleData ?? [])];
  else if (dataType === DataType.INT64) values = (t.int64Data ?? []).map(toNumber);
  else if (dataType === DataType.INT32 || dataType === DataType.BOOL) values = [...(t.int32Data ?? [])];
  return { dims, dataType, values };
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  const data = Float32Array.from(values);
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export function int64Tensor(name: string, dims: number[], values: number[]): TensorProto {
  // Exporters' INT64_MAX/MIN ("to the end") arrive as doubles just outside int64: clamp them.
  const clamp = (v: bigint) => (v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : v);
  const data = BigInt64Array.from(values.map((v) => clamp(BigInt(v))));
  return { name, dims, dataType: DataType.INT64, rawData: new Uint8Array(data.buffer) };
}

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attrs: Record<string, AttrValue | undefined> = {},
): NodeProto {
  const attribute = Object.entries(attrs)
    .filter((e): e is [string, AttrValue] => e[1] !== undefined)
    .map(([k, v]) => makeAttr(k, v));
  return { opType, input: inputs, output: outputs, name, attribute };
}

/** Static dims of a ValueInfo (symbolic or missing dims as `undefined`). */
export function valueInfoDims(v: ValueInfoProto): (number | undefined)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => (d.dimValue != null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : undefined));
}

export function makeValueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
