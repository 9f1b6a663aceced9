import { InputFormatError } from '../errors.js';

/** A parsed .npy array (little-endian, C order). */
export interface NpyArray {
  dtype: 'float32' | 'int32' | 'float64' | 'int64';
  shape: number[];
  data: Float32Array | Int32Array | Float64Array | BigInt64Array;
}

const DESCR_TO_DTYPE: Record<string, NpyArray['dtype']> = {
  '<f4': 'float32',
  '<i4': 'int32',
  '<f8': 'float64',
  '<i8': 'int64',
};
const DTYPE_TO_DESCR: Record<string, string> = { float32: '<f4', int32: '<i4' };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parse a .npy file. `name` is used in error messages. */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new InputFormatError(`${name} is not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InputFormatError(`${name} has a malformed .npy header`);
  }
  const dtype = DESCR_TO_DTYPE[descr];
  if (!dtype) throw new InputFormatError(`${name} has dtype ${descr}; expected float32 (<f4)`);
  if (fortran === 'True') throw new InputFormatError(`${name} is in Fortran order; save it in C order`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  const itemSize = dtype === 'float32' || dtype === 'int32' ? 4 : 8;
  if (bytes.length - dataStart < count * itemSize) {
    throw new InputFormatError(`${name} is truncated: header says ${count} values of ${itemSize} bytes`);
  }
  // Copy so the typed array is aligned regardless of the header length.
  const raw = bytes.slice(dataStart, dataStart + count * itemSize).buffer;
  const data =
    dtype === 'float32' ? new Float32Array(raw)
    : dtype === 'int32' ? new Int32Array(raw)
    : dtype === 'float64' ? new Float64Array(raw)
    : new BigInt64Array(raw);
  return { dtype, shape, data };
}

/** Serialise a float32 or int32 array as .npy version 1.0. */
export function encodeNpy(data: Float32Array | Int32Array, shape: readonly number[]): Uint8Array {
  const dtype = data instanceof Float32Array ? 'float32' : 'int32';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DTYPE_TO_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so that magic + lengths + header + '\n' is a multiple of 64 bytes.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
