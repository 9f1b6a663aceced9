import source from './eigen_power.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type Recorder, type StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';

const kernel: KernelDef = { name: 'eigen_power', source: withLibraries(source, 'flatIndex', 'reduce'), bindings: ['read', 'write', 'write', 'write', 'uniform'] };

/**
 * One workgroup per image, with about 8 rows of G per invocation (8 to 64 invocations): every
 * step ends in two reductions and a storage barrier, and on a software GPU (SwiftShader) the
 * barriers, whose cost grows with the workgroup, dominate a small matrix's n^2 products
 * (n = 49, 2048x7x7: 8 invocations run the steps 3x faster than 64).
 */
export function powerWorkgroupSize(n: number): number {
  return Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(Math.ceil(n / 8)))));
}

/**
 * Dominant eigenpair of each [n, n] Gram matrix by `iterations` power-iteration steps:
 * `vector` [batch, n] with unit 2-norm and `value` [batch] (the eigenvalue).
 */
export function recordEigenPower(
  rec: Recorder,
  pass: StagePass,
  gram: GPUBuffer,
  dims: { batch: number; n: number; iterations: number },
): { vector: GPUBuffer; value: GPUBuffer } {
  const { batch, n, iterations } = dims;
  const vector = rec.storage(batch * n * 4, 'eigen vector');
  const work = rec.storage(batch * n * 4, 'eigen work');
  const value = rec.storage(batch * 4, 'eigen value');
  const params = rec.uniform([{ u32: n }, { u32: iterations }, { u32: batch }]);
  rec.dispatch(pass, kernel, { WG: powerWorkgroupSize(n) }, [gram, vector, work, value, params], workgroupGrid(batch));
  return { vector, value };
}
