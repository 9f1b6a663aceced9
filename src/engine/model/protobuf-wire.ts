/**
 * The protobuf wire format (varints, fixed 32/64-bit values, length-delimited fields), just
 * enough to read and write ONNX models without a protobuf runtime. A schema-driven codec on top
 * of this lives in onnx-codec.ts.
 */

/** Protobuf wire types. */
export const Wire = { VARINT: 0, FIXED64: 1, LENGTH: 2, FIXED32: 5 } as const;

/** Malformed protobuf bytes (truncated, bad wire type, over-long varint). */
export class WireFormatError extends Error {}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

/** Reads fields from protobuf bytes; bytes fields are views into the input, never copies. */
export class WireReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private need(count: number): void {
    if (this.pos + count > this.end) throw new WireFormatError(`truncated message at byte ${this.pos}`);
  }

  /** A varint as an unsigned 64-bit bigint. */
  varintBig(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      this.need(1);
      const byte = this.bytes[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, result);
    }
    throw new WireFormatError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A varint below 2^32 (tags and lengths) as a number. */
  uint32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1);
      const byte = this.bytes[this.pos++];
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
    throw new WireFormatError(`varint too long for a length or tag at byte ${this.pos}`);
  }

  /** A varint read as int64: a number when it fits exactly, a bigint beyond 2^53. */
  int64(): number | bigint {
    return exactNumber(BigInt.asIntN(64, this.varintBig()));
  }

  uint64(): number | bigint {
    return exactNumber(this.varintBig());
  }

  /** int32 and enums: negative values arrive sign-extended to 64 bits. */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varintBig()));
  }

  float(): number {
    this.need(4);
    const value = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return value;
  }

  double(): number {
    this.need(8);
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  /** A length-delimited payload (view into the input). */
  bytesField(): Uint8Array {
    const length = this.uint32();
    this.need(length);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    return utf8Decoder.decode(this.bytesField());
  }

  /** Skip a field's payload of the given wire type (unknown fields). */
  skip(wireType: number): void {
    switch (wireType) {
      case Wire.VARINT: this.varintBig(); return;
      case Wire.FIXED64: this.need(8); this.pos += 8; return;
      case Wire.FIXED32: this.need(4); this.pos += 4; return;
      case Wire.LENGTH: this.bytesField(); return;
      default: throw new WireFormatError(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }
}

function exactNumber(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/**
 * Writes protobuf bytes. Large byte payloads (tensor data) are kept as references until
 * finish(), so nesting messages never copies them more than once.
 */
export class WireWriter {
  private readonly parts: Uint8Array[] = [];
  private scratch = new Uint8Array(1024);
  private used = 0;
  private partsLength = 0;

  /** Total bytes written so far. */
  get length(): number {
    return this.partsLength + this.used;
  }

  private room(count: number): void {
    if (this.used + count <= this.scratch.length) return;
    this.flush();
    if (count > this.scratch.length) this.scratch = new Uint8Array(count);
  }

  private flush(): void {
    if (this.used === 0) return;
    this.push(this.scratch.slice(0, this.used));
    this.used = 0;
  }

  private push(part: Uint8Array): void {
    this.parts.push(part);
    this.partsLength += part.length;
  }

  tag(field: number, wireType: number): void {
    this.uint32(field * 8 + wireType);
  }

  /** An unsigned varint below 2^53 (tags, lengths, non-negative numbers). */
  uint32(value: number): void {
    this.room(10);
    while (value >= 0x80) {
      this.scratch[this.used++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.scratch[this.used++] = value;
  }

  /** Any 64-bit integer as a varint (negative numbers take ten bytes, as protobuf specifies). */
  varint64(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) return this.uint32(value);
    let v = BigInt.asUintN(64, BigInt(value));
    this.room(10);
    while (v >= 0x80n) {
      this.scratch[this.used++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.scratch[this.used++] = Number(v);
  }

  float(value: number): void {
    this.room(4);
    new DataView(this.scratch.buffer).setFloat32(this.used, value, true);
    this.used += 4;
  }

  double(value: number): void {
    this.room(8);
    new DataView(this.scratch.buffer).setFloat64(this.used, value, true);
    this.used += 8;
  }

  /** Raw bytes with no length prefix; large ones are kept by reference until finish(). */
  raw(bytes: Uint8Array): void {
    if (bytes.length <= 64) {
      this.room(bytes.length);
      this.scratch.set(bytes, this.used);
      this.used += bytes.length;
      return;
    }
    this.flush();
    this.push(bytes);
  }

  /** A length-prefixed payload. */
  bytesField(bytes: Uint8Array): void {
    this.uint32(bytes.length);
    this.raw(bytes);
  }

  string(value: string): void {
    this.bytesField(utf8Encoder.encode(value));
  }

  /** Append another writer's bytes with a length prefix (an embedded message). */
  embed(inner: WireWriter): void {
    inner.flush();
    this.uint32(inner.length);
    this.flush();
    for (const part of inner.parts) this.push(part);
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.partsLength);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}
