import source from './eigen_power.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type Recorder, type StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';

const WG = 256;
const kernel: KernelDef = { name: 'eigen_power', source: withLibraries(source, 'flatIndex', 'reduce'), bindings: ['read', 'write', 'write', 'write', 'uniform'] };

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
  rec.dispatch(pass, kernel, { WG }, [gram, vector, work, value, params], workgroupGrid(batch));
  return { vector, value };
}
