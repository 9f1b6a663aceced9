/**
 * The committed WebAssembly module (src/engine/simd/simd-wasm.ts) is what simd.wat assembles
 * to: edit the .wat, run `npm run build:wasm`, commit both.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ES module script without types
import { assembleSimdWat } from '../scripts/build-wasm.mjs';
import { SIMD_WASM_BASE64 } from '../src/engine/simd/simd-wasm';

describe('simd.wat build', () => {
  it('the committed module equals the assembled simd.wat', async () => {
    const bytes: Uint8Array = await assembleSimdWat();
    expect(Buffer.from(bytes).toString('base64'), 'simd-wasm.ts is stale: run `npm run build:wasm`').toBe(SIMD_WASM_BASE64);
  });
});
