/**
 * Loads the WebAssembly SIMD kernels (simd.wat, committed as simd-wasm.ts) once per process or
 * page, and hands out their memory as one growable scratch area. Resolves to null where the
 * engine has no WebAssembly SIMD; callers then use their TypeScript loops (same arithmetic).
 */
import { SIMD_WASM_BASE64 } from './simd-wasm.js';

interface SimdExports {
  memory: WebAssembly.Memory;
  pairwise_upper(at: number, m: number, stride: number, hw: number, out: number, i0: number, i1: number): void;
}

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
    this.top = offset + ((count * 4 + 16 + 15) & ~15);
    const memory = this.exports.memory;
    const missing = this.top - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    return offset;
  }

  floats(offset: number, count: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, offset, count);
  }

  /** See simd.wat: packed upper-triangle distances between the columns of a pixel-major matrix. */
  pairwiseUpper(at: number, m: number, stride: number, hw: number, out: number, i0 = 0, i1 = m): void {
    this.exports.pairwise_upper(at, m, stride, hw, out, i0, i1);
  }
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
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
    const { instance } = await WebAssembly.instantiate(bytes, {});
    return new SimdKernels(instance.exports as unknown as SimdExports);
  })().catch(() => null);
  return loading;
}
