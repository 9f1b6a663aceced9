/**
 * The CPU fast path: each method's `cpuFast` (methods/<method>/cpu-fast.ts) where it has one,
 * its CPU twin otherwise (Score-CAM and ClusCAM, where the model dominates; Soft-CAM, a resize).
 * The fast twins run on the WebAssembly SIMD kernels (src/engine/simd/), or on TypeScript loops
 * with the same arithmetic where SIMD is missing; the CPU twins stay the oracle they are tested
 * against. Inputs are assumed validated (validateCamInput).
 */
import { loadSimdKernels, simdValueScans } from '../simd/kernels.js';
import type { CamInput, CamOptions, CamResult } from '../types.js';
import type { ValueScans } from '../util/finite.js';
import { methodDefinition, type CamMethod } from './registry.js';

export interface FastCpuOptions {
  /** Use the WebAssembly SIMD kernels where available (default true); false runs their TypeScript twins. */
  simd?: boolean;
}

/** Which kernels the fast path runs on here: 'wasm-simd' or 'typescript'. */
export async function fastCpuKernelKind(options: FastCpuOptions = {}): Promise<'wasm-simd' | 'typescript'> {
  return options.simd !== false && (await loadSimdKernels()) ? 'wasm-simd' : 'typescript';
}

/** Validation scans on the SIMD kernels (null without WebAssembly SIMD). */
export async function fastValueScans(): Promise<ValueScans | null> {
  const kernels = await loadSimdKernels();
  return kernels && simdValueScans(kernels);
}

/** `method` for every image of the batch on the fast path (the method's CPU twin where it has none). */
export async function computeCamCpuFast(method: CamMethod, input: CamInput, options: CamOptions = {}, fast: FastCpuOptions = {}): Promise<CamResult> {
  const definition = methodDefinition(method);
  if (!definition.cpuFast) return definition.cpu(input, options);
  const kernels = fast.simd === false ? null : await loadSimdKernels();
  return definition.cpuFast(input, options, kernels);
}
