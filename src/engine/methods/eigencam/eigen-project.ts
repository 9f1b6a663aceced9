import source from './eigen_project.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type Recorder, type StagePass } from '../../gpu/recorder.js';
import { gramSide } from './eigen-gram.js';

const WG = 256;
const kernel: KernelDef = { name: 'eigen_project', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'read', 'read', 'write', 'uniform'] };

/**
 * ReLU of the sign-fixed projection X v1 into a new [batch, pixels] buffer, from the
 * eigenpair of whichever Gram matrix recordEigenGram built.
 */
export function recordEigenProject(
  rec: Recorder,
  pass: StagePass,
  centred: GPUBuffer,
  eigen: { vector: GPUBuffer; value: GPUBuffer },
  dims: { batch: number; channels: number; pixels: number },
): GPUBuffer {
  const map = rec.storage(dims.batch * dims.pixels * 4, 'eigen map');
  const params = rec.uniform([{ u32: dims.channels }, { u32: dims.pixels }, { u32: dims.batch }]);
  const defines = { WG, CHANNELS: gramSide(dims.channels, dims.pixels) === 'channels' };
  rec.dispatch(pass, kernel, defines, [centred, eigen.vector, eigen.value, map, params], workgroupGrid(dims.batch));
  return map;
}
