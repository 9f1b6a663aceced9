/**
 * The ONNX protobuf messages the model tooling reads and writes (field numbers from onnx.proto),
 * as plain objects with camelCase fields, decoded and encoded by a small schema-driven codec.
 * Fields are written in field-number order with onnx.proto's packing, as protobuf's own writers
 * do, so decoding and re-encoding a model gives back its bytes. Fields this tooling never touches (training info, functions, sparse tensors, sequence and map
 * types, ...) are kept as raw bytes and written back unchanged, so a rewrite loses nothing.
 * int64 values decode to numbers, or to bigints beyond 2^53 (Slice's INT64_MAX ends survive).
 */
import { Wire, WireReader, WireWriter } from './protobuf-wire.js';

export type Int64 = number | bigint;

export interface OperatorSetIdProto {
  domain?: string | null;
  version?: Int64 | null;
}

export interface StringStringEntryProto {
  key?: string | null;
  value?: string | null;
}

export interface TensorProto {
  dims?: Int64[] | null;
  dataType?: number | null;
  floatData?: number[] | null;
  int32Data?: number[] | null;
  stringData?: Uint8Array[] | null;
  int64Data?: Int64[] | null;
  name?: string | null;
  rawData?: Uint8Array | null;
  doubleData?: number[] | null;
  uint64Data?: Int64[] | null;
  docString?: string | null;
  externalData?: StringStringEntryProto[] | null;
  dataLocation?: number | null;
}

export interface TensorShapeDimension {
  dimValue?: Int64 | null;
  dimParam?: string | null;
  denotation?: string | null;
}

export interface TensorShapeProto {
  dim?: TensorShapeDimension[] | null;
}

export interface TypeProtoTensor {
  elemType?: number | null;
  shape?: TensorShapeProto | null;
}

export interface TypeProto {
  tensorType?: TypeProtoTensor | null;
  denotation?: string | null;
}

export interface ValueInfoProto {
  name?: string | null;
  type?: TypeProto | null;
  docString?: string | null;
}

export interface AttributeProto {
  name?: string | null;
  f?: number | null;
  i?: Int64 | null;
  s?: Uint8Array | null;
  t?: TensorProto | null;
  g?: GraphProto | null;
  floats?: number[] | null;
  ints?: Int64[] | null;
  strings?: Uint8Array[] | null;
  tensors?: TensorProto[] | null;
  graphs?: GraphProto[] | null;
  docString?: string | null;
  tp?: TypeProto | null;
  typeProtos?: TypeProto[] | null;
  type?: number | null;
  refAttrName?: string | null;
}

export interface NodeProto {
  input?: string[] | null;
  output?: string[] | null;
  name?: string | null;
  opType?: string | null;
  attribute?: AttributeProto[] | null;
  docString?: string | null;
  domain?: string | null;
}

export interface GraphProto {
  node?: NodeProto[] | null;
  name?: string | null;
  initializer?: TensorProto[] | null;
  docString?: string | null;
  input?: ValueInfoProto[] | null;
  output?: ValueInfoProto[] | null;
  valueInfo?: ValueInfoProto[] | null;
}

export interface ModelProto {
  irVersion?: Int64 | null;
  producerName?: string | null;
  producerVersion?: string | null;
  domain?: string | null;
  modelVersion?: Int64 | null;
  docString?: string | null;
  graph?: GraphProto | null;
  opsetImport?: OperatorSetIdProto[] | null;
  metadataProps?: StringStringEntryProto[] | null;
}

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

// --- schema ---------------------------------------------------------------------------------

type Scalar = 'int32' | 'int64' | 'uint64' | 'float' | 'double' | 'string' | 'bytes';

interface Field {
  no: number;
  name: string;
  /** A scalar kind, or the schema of an embedded message (a thunk: the messages nest). */
  kind: Scalar | (() => Schema);
  repeated?: boolean;
  /** Repeated numbers written as one packed run (onnx.proto's `[packed = true]`). */
  packed?: boolean;
}

type Schema = readonly Field[];

const f = (no: number, name: string, kind: Field['kind'], repeated = false): Field => ({ no, name, kind, repeated });
const packed = (no: number, name: string, kind: Scalar): Field => ({ no, name, kind, repeated: true, packed: true });

const OPERATOR_SET_ID: Schema = [f(1, 'domain', 'string'), f(2, 'version', 'int64')];
const STRING_ENTRY: Schema = [f(1, 'key', 'string'), f(2, 'value', 'string')];
const TENSOR: Schema = [
  f(1, 'dims', 'int64', true), f(2, 'dataType', 'int32'), packed(4, 'floatData', 'float'),
  packed(5, 'int32Data', 'int32'), f(6, 'stringData', 'bytes', true), packed(7, 'int64Data', 'int64'),
  f(8, 'name', 'string'), f(9, 'rawData', 'bytes'), packed(10, 'doubleData', 'double'),
  packed(11, 'uint64Data', 'uint64'), f(12, 'docString', 'string'),
  f(13, 'externalData', () => STRING_ENTRY, true), f(14, 'dataLocation', 'int32'),
];
const DIMENSION: Schema = [f(1, 'dimValue', 'int64'), f(2, 'dimParam', 'string'), f(3, 'denotation', 'string')];
const SHAPE: Schema = [f(1, 'dim', () => DIMENSION, true)];
const TYPE_TENSOR: Schema = [f(1, 'elemType', 'int32'), f(2, 'shape', () => SHAPE)];
const TYPE: Schema = [f(1, 'tensorType', () => TYPE_TENSOR), f(6, 'denotation', 'string')];
const VALUE_INFO: Schema = [f(1, 'name', 'string'), f(2, 'type', () => TYPE), f(3, 'docString', 'string')];
const ATTRIBUTE: Schema = [
  f(1, 'name', 'string'), f(2, 'f', 'float'), f(3, 'i', 'int64'), f(4, 's', 'bytes'), f(5, 't', () => TENSOR),
  f(6, 'g', () => GRAPH), f(7, 'floats', 'float', true), f(8, 'ints', 'int64', true), f(9, 'strings', 'bytes', true),
  f(10, 'tensors', () => TENSOR, true), f(11, 'graphs', () => GRAPH, true), f(13, 'docString', 'string'),
  f(14, 'tp', () => TYPE), f(15, 'typeProtos', () => TYPE, true), f(20, 'type', 'int32'), f(21, 'refAttrName', 'string'),
];
const NODE: Schema = [
  f(1, 'input', 'string', true), f(2, 'output', 'string', true), f(3, 'name', 'string'), f(4, 'opType', 'string'),
  f(5, 'attribute', () => ATTRIBUTE, true), f(6, 'docString', 'string'), f(7, 'domain', 'string'),
];
const GRAPH: Schema = [
  f(1, 'node', () => NODE, true), f(2, 'name', 'string'), f(5, 'initializer', () => TENSOR, true),
  f(10, 'docString', 'string'), f(11, 'input', () => VALUE_INFO, true), f(12, 'output', () => VALUE_INFO, true),
  f(13, 'valueInfo', () => VALUE_INFO, true),
];
const MODEL: Schema = [
  f(1, 'irVersion', 'int64'), f(2, 'producerName', 'string'), f(3, 'producerVersion', 'string'),
  f(4, 'domain', 'string'), f(5, 'modelVersion', 'int64'), f(6, 'docString', 'string'), f(7, 'graph', () => GRAPH),
  f(8, 'opsetImport', () => OPERATOR_SET_ID, true), f(14, 'metadataProps', () => STRING_ENTRY, true),
];

/** Raw bytes (tag and payload) of the fields a schema does not name, kept for re-encoding. */
const UNKNOWN_FIELDS = Symbol('onnx unknown fields');

type Message = Record<string, unknown> & { [UNKNOWN_FIELDS]?: Uint8Array[] };

const fieldIndex = new WeakMap<Schema, Map<number, Field>>();

function byNumber(schema: Schema): Map<number, Field> {
  let index = fieldIndex.get(schema);
  if (!index) fieldIndex.set(schema, (index = new Map(schema.map((field) => [field.no, field]))));
  return index;
}

// --- decoding -------------------------------------------------------------------------------

function scalarWireType(kind: Scalar): number {
  switch (kind) {
    case 'float': return Wire.FIXED32;
    case 'double': return Wire.FIXED64;
    case 'string': case 'bytes': return Wire.LENGTH;
    default: return Wire.VARINT;
  }
}

function readScalar(reader: WireReader, kind: Scalar): unknown {
  switch (kind) {
    case 'int32': return reader.int32();
    case 'int64': return reader.int64();
    case 'uint64': return reader.uint64();
    case 'float': return reader.float();
    case 'double': return reader.double();
    case 'string': return reader.string();
    case 'bytes': return reader.bytesField();
  }
}

function decodeMessage(reader: WireReader, schema: Schema, end: number): Message {
  const message: Message = {};
  for (const field of schema) if (field.repeated) message[field.name] = [];
  const fields = byNumber(schema);
  while (reader.pos < end) {
    const fieldStart = reader.pos;
    const key = reader.uint32();
    const no = Math.floor(key / 8);
    const wireType = key % 8;
    if (no === 0) throw new Error(`invalid field number 0 at byte ${fieldStart}`);
    const field = fields.get(no);
    if (!field) {
      reader.skip(wireType);
      (message[UNKNOWN_FIELDS] ??= []).push(reader.bytes.subarray(fieldStart, reader.pos));
      continue;
    }
    if (typeof field.kind === 'function') {
      if (wireType !== Wire.LENGTH) throw new Error(`field ${field.name} has wire type ${wireType}, expected a message`);
      const length = reader.uint32();
      const inner = decodeMessage(reader, field.kind(), reader.pos + length);
      if (field.repeated) (message[field.name] as unknown[]).push(inner);
      else message[field.name] = inner;
      continue;
    }
    const expected = scalarWireType(field.kind);
    if (field.repeated && wireType === Wire.LENGTH && expected !== Wire.LENGTH) {
      // A packed run of numbers.
      const length = reader.uint32();
      const stop = reader.pos + length;
      if (stop > end) throw new Error(`truncated packed field ${field.name}`);
      const values = message[field.name] as unknown[];
      while (reader.pos < stop) values.push(readScalar(reader, field.kind));
      continue;
    }
    if (wireType !== expected) throw new Error(`field ${field.name} has wire type ${wireType}, expected ${expected}`);
    const value = readScalar(reader, field.kind);
    if (field.repeated) (message[field.name] as unknown[]).push(value);
    else message[field.name] = value;
  }
  if (reader.pos !== end) throw new Error('an embedded message overruns its parent');
  return message;
}

// --- encoding -------------------------------------------------------------------------------

function writeScalar(writer: WireWriter, kind: Scalar, value: unknown): void {
  switch (kind) {
    case 'int32': case 'int64': case 'uint64': return writer.varint64(value as number | bigint);
    case 'float': return writer.float(value as number);
    case 'double': return writer.double(value as number);
    case 'string': return writer.string(value as string);
    case 'bytes': return writer.bytesField(value as Uint8Array);
  }
}

function encodeMessage(writer: WireWriter, schema: Schema, message: Message): void {
  for (const field of schema) {
    const value = message[field.name];
    if (value == null) continue;
    const { kind } = field;
    if (typeof kind === 'function') {
      for (const item of field.repeated ? (value as Message[]) : [value as Message]) {
        const inner = new WireWriter();
        encodeMessage(inner, kind(), item);
        writer.tag(field.no, Wire.LENGTH);
        writer.embed(inner);
      }
    } else if (!field.repeated) {
      writer.tag(field.no, scalarWireType(kind));
      writeScalar(writer, kind, value);
    } else if (!field.packed) {
      // onnx.proto is proto2: repeated fields are one tagged value each unless marked packed.
      for (const item of value as unknown[]) {
        writer.tag(field.no, scalarWireType(kind));
        writeScalar(writer, kind, item);
      }
    } else if ((value as unknown[]).length > 0) {
      const packed = new WireWriter();
      for (const item of value as unknown[]) writeScalar(packed, kind, item);
      writer.tag(field.no, Wire.LENGTH);
      writer.embed(packed);
    }
  }
  for (const raw of message[UNKNOWN_FIELDS] ?? []) writer.raw(raw);
}

/** Decode ModelProto bytes; throws on malformed protobuf. */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return decodeMessage(new WireReader(bytes), MODEL, bytes.length) as ModelProto;
}

/** Encode a ModelProto (fields left undefined or null are not written). */
export function encodeModelProto(model: ModelProto): Uint8Array {
  const writer = new WireWriter();
  encodeMessage(writer, MODEL, model as Message);
  return writer.finish();
}
