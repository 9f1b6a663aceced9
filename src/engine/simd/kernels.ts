/**
 * The CPU fast path's WebAssembly SIMD kernels (simd.wat, committed as simd-wasm.ts): loads them
 * once per process or page, and hands out their memory as one growable scratch area (it grows
 * to the largest image's needs and is reused). loadSimdKernels resolves to null where the engine
 * has no WebAssembly SIMD; callers then use their TypeScript loops (same arithmetic).
 */
import { DeviceLimitError } from '../errors.js';
import type { ValueScans } from '../util/finite.js';
import { SIMD_WASM_BASE64 } from './simd-wasm.js';

interface SimdExports {
  memory: WebAssembly.Memory;
  pairwise_upper(at: number, m: number, stride: number, hw: number, out: number, i0: number, i1: number): void;
  hist_high16(ptr: number, n: number, hist: number): void;
  hist_low16(ptr: number, n: number, bin0: number, hist0: number, bin1: number, hist1: number): void;
  count_le(ptr: number, n: number, thr: number): number;
  edges_le(packed: number, m: number, thr: number, out: number, deg: number): number;
  first_non_finite(ptr: number, n: number): number;
  max_abs(ptr: number, n: number): number;
  channel_sums(x: number, c: number, hw: number, out: number): void;
  gradcampp_weights(g: number, sumA: number, c: number, hw: number, out: number): void;
  channel_dots(a: number, g: number, c: number, hw: number, out: number): void;
  weighted_sum(a: number, w: number, c: number, hw: number, map: number): void;
  elementwise_sum(a: number, g: number, c: number, hw: number, relu: number, map: number): void;
  resize_vertical(rows: number, i0: number, i1: number, fy: number, oh: number, ow: number, out: number, range: number): void;
  affine_to_f32(x: number, n: number, min: number, scale: number, out: number): void;
  gram_positions(xc: number, c: number, hw: number, m: number): void;
}

/** Floats copied into the kernels' memory per scan call (bounded scratch for any input size). */
const SCAN_CHUNK = 1 << 16;

/** Scratch bytes at most: the kernels take byte offsets and counts as signed 32-bit integers. */
const MAX_SCRATCH_BYTES = 2 ** 31 - 65536;

/** The kernels with a bump-allocated scratch memory (valid until the next `reset`). */
export class SimdKernels {
  private top = 0;

  constructor(private readonly exports: SimdExports) {}

  /** Forget every allocation: the memory is reused by the next image. */
  reset(): void {
    this.top = 0;
  }

  /**
   * Reserve `count` float32 (plus 16 spare bytes, which the kernels may read past a matrix)
   * and return their byte offset. Views must be made after the last allocation: growing the
   * memory detaches earlier ones.
   */
  allocFloats(count: number): number {
    const offset = this.top;
    const top = offset + Math.ceil((count * 4 + 16) / 16) * 16;
    const tooLarge = () =>
      new DeviceLimitError(
        `the CPU fast path needs ${(top / 2 ** 20).toFixed(0)} MiB of WebAssembly memory, more than it can have: use fewer channels, or createCamEngine({ backend: 'cpu', cpuPath: 'reference' })`,
      );
    if (top > MAX_SCRATCH_BYTES) throw tooLarge();
    const memory = this.exports.memory;
    const missing = top - memory.buffer.byteLength;
    if (missing > 0) {
      try {
        memory.grow(Math.ceil(missing / 65536));
      } catch {
        throw tooLarge();
      }
    }
    this.top = top;
    return offset;
  }

  /** Like allocFloats, zero-filled (the memory is reused, so it may hold an earlier image's data). */
  allocZeroed(count: number): number {
    const offset = this.allocFloats(count);
    new Uint8Array(this.exports.memory.buffer, offset, count * 4).fill(0);
    return offset;
  }

  /** Reserve `count` float64 (16-byte aligned) and return their byte offset. */
  allocDoubles(count: number): number {
    return this.allocFloats(2 * count);
  }

  /** allocDoubles, zero-filled. */
  allocZeroedDoubles(count: number): number {
    return this.allocZeroed(2 * count);
  }

  /** Copy float32 values in and return their offset. */
  copyIn(values: Float32Array): number {
    const at = this.allocFloats(values.length);
    this.floats(at, values.length).set(values);
    return at;
  }

  doubles(offset: number, count: number): Float64Array {
    return new Float64Array(this.exports.memory.buffer, offset, count);
  }

  floats(offset: number, count: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, offset, count);
  }

  u32(offset: number, count: number): Uint32Array {
    return new Uint32Array(this.exports.memory.buffer, offset, count);
  }

  i32(offset: number, count: number): Int32Array {
    return new Int32Array(this.exports.memory.buffer, offset, count);
  }

  /** See simd.wat: packed upper-triangle distances between the columns of a pixel-major matrix. */
  pairwiseUpper(at: number, m: number, stride: number, hw: number, out: number, i0 = 0, i1 = m): void {
    this.exports.pairwise_upper(at, m, stride, hw, out, i0, i1);
  }

  /** hist[bits >>> 16]++ over n float32 at ptr (hist: 65536 zeroed u32). */
  histHigh16(ptr: number, n: number, hist: number): void {
    this.exports.hist_high16(ptr, n, hist);
  }

  /** Low-16-bit histograms of the values in high bins bin0 and bin1 (-1: none). */
  histLow16(ptr: number, n: number, bin0: number, hist0: number, bin1: number, hist1: number): void {
    this.exports.hist_low16(ptr, n, bin0, hist0, bin1, hist1);
  }

  /** Number of the n float32 at ptr that are <= thr. */
  countLessEqual(ptr: number, n: number, thr: number): number {
    return this.exports.count_le(ptr, n, thr);
  }

  /** See simd.wat for these: float64 kernels of the Grad-CAM family and Eigen-CAM (offsets in bytes). */
  channelSums(x: number, c: number, hw: number, out: number): void {
    this.exports.channel_sums(x, c, hw, out);
  }

  gradcamppWeights(g: number, sumA: number, c: number, hw: number, out: number): void {
    this.exports.gradcampp_weights(g, sumA, c, hw, out);
  }

  channelDots(a: number, g: number, c: number, hw: number, out: number): void {
    this.exports.channel_dots(a, g, c, hw, out);
  }

  weightedSum(a: number, w: number, c: number, hw: number, map: number): void {
    this.exports.weighted_sum(a, w, c, hw, map);
  }

  elementwiseSum(a: number, g: number, c: number, hw: number, relu: boolean, map: number): void {
    this.exports.elementwise_sum(a, g, c, hw, relu ? 1 : 0, map);
  }

  resizeVertical(rows: number, i0: number, i1: number, fy: number, oh: number, ow: number, out: number, range: number): void {
    this.exports.resize_vertical(rows, i0, i1, fy, oh, ow, out, range);
  }

  affineToF32(x: number, n: number, min: number, scale: number, out: number): void {
    this.exports.affine_to_f32(x, n, min, scale, out);
  }

  gramPositions(xc: number, c: number, hw: number, m: number): void {
    this.exports.gram_positions(xc, c, hw, m);
  }

  /** Index of the first Inf/NaN of n float32 at ptr, or -1. */
  firstNonFinite(ptr: number, n: number): number {
    return this.exports.first_non_finite(ptr, n);
  }

  /** Largest absolute value of n finite float32 at ptr. */
  maxAbs(ptr: number, n: number): number {
    return this.exports.max_abs(ptr, n);
  }

  /** Neighbour edges (d <= thr) of a packed upper triangle into out (2 i32 each), counts into deg. */
  edgesLessEqual(packed: number, m: number, thr: number, out: number, deg: number): number {
    return this.exports.edges_le(packed, m, thr, out, deg);
  }
}

/**
 * Validation's two whole-array scans (util/finite.ts's ValueScans) on the SIMD kernels: the data
 * goes through the kernels' memory in chunks. Same answers as the TypeScript scans.
 */
export function simdValueScans(kernels: SimdKernels): ValueScans {
  const chunked = (data: Float32Array, scan: (ptr: number, n: number, start: number) => boolean) => {
    kernels.reset();
    const at = kernels.allocFloats(Math.min(SCAN_CHUNK, data.length));
    for (let start = 0; start < data.length; start += SCAN_CHUNK) {
      const part = data.subarray(start, Math.min(start + SCAN_CHUNK, data.length));
      kernels.floats(at, part.length).set(part);
      if (!scan(at, part.length, start)) return;
    }
  };
  return {
    firstNonFinite(data) {
      let found = -1;
      chunked(data, (ptr, n, start) => {
        const i = kernels.firstNonFinite(ptr, n);
        if (i >= 0) found = start + i;
        return i < 0;
      });
      return found;
    },
    maxAbs(data) {
      let largest = 0;
      chunked(data, (ptr, n) => {
        largest = Math.max(largest, kernels.maxAbs(ptr, n));
        return true;
      });
      return largest;
    },
  };
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let loading: Promise<SimdKernels | null> | undefined;

/** The SIMD kernels, or null where WebAssembly or its SIMD proposal is missing. */
export function loadSimdKernels(): Promise<SimdKernels | null> {
  loading ??= (async () => {
    if (typeof WebAssembly !== 'object') return null;
    const bytes = decodeBase64(SIMD_WASM_BASE64);
    if (!WebAssembly.validate(bytes)) return null;
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes), {});
    return new SimdKernels(instance.exports as unknown as SimdExports);
  })().catch(() => null);
  return loading;
}
