/**
 * The hand-written ONNX codec (src/engine/model/onnx-codec.ts): real models exported by torch
 * (and written by the onnx Python package) decode and re-encode to the same bytes, unknown
 * fields survive, int64 values beyond 2^53 survive, and malformed bytes are rejected.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModelProto, encodeModelProto } from '../src/engine/model/onnx-codec';
import { decodeModel } from '../src/engine/model/onnx-io';
import { ModelFormatError } from '../src/engine/model/errors';

const ROOT = path.resolve(import.meta.dirname, '..');

function onnxFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return onnxFiles(full);
    return name.endsWith('.onnx') ? [full] : [];
  });
}

const MODELS = [...onnxFiles(path.join(ROOT, 'models')), ...onnxFiles(path.join(ROOT, 'test/fixtures'))];

describe('ONNX codec', () => {
  it('finds the repository models', () => {
    expect(MODELS.length).toBeGreaterThanOrEqual(5);
  });

  it.each(MODELS.map((m) => [path.relative(ROOT, m), m]))('re-encodes %s byte for byte', (_name, file) => {
    const bytes = new Uint8Array(readFileSync(file));
    const model = decodeModelProto(bytes);
    expect(model.graph?.node?.length).toBeGreaterThan(0);
    const again = encodeModelProto(model);
    expect(again.length).toBe(bytes.length);
    expect(Buffer.compare(Buffer.from(again), Buffer.from(bytes))).toBe(0);
  });

  it('keeps unknown fields and 64-bit integers', () => {
    const big = 9223372036854775807n; // INT64_MAX, as Slice's `ends` often holds
    const model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [{ opType: 'Slice', input: ['x'], output: ['y'], attribute: [{ name: 'ends', type: 7, ints: [big, -1, 3] }] }],
      },
    };
    const bytes = encodeModelProto(model);
    // Append an unknown field (number 25, `functions`, length-delimited) to the model.
    const extra = new Uint8Array([0xca, 0x01, 0x03, 0x61, 0x62, 0x63]);
    const withExtra = new Uint8Array([...bytes, ...extra]);
    const decoded = decodeModelProto(withExtra);
    expect(decoded.graph!.node![0].attribute![0].ints).toEqual([big, -1, 3]);
    expect(decoded.opsetImport![0].version).toBe(17);
    expect([...encodeModelProto(decoded)]).toEqual([...withExtra]);
  });

  it('rejects bytes that are not a model', () => {
    expect(() => decodeModel(new TextEncoder().encode('not an onnx model'))).toThrow(ModelFormatError);
    expect(() => decodeModel(new Uint8Array([0x3a, 0x80]))).toThrow(ModelFormatError); // truncated graph
  });
});
