import source from './eigen_center.wgsl?raw';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../gpu/recorder.js';
import { withLibraries } from '../../gpu/wgsl-library.js';

const WG = 64;
const kernel: KernelDef = { name: 'eigen_center', source: withLibraries(source, 'flatIndex'), bindings: ['read', 'write', 'uniform'] };

/** Activations minus each channel's spatial mean, into a new [batch, channels, pixels] buffer. */
export function recordEigenCenter(
  rec: Recorder,
  pass: StagePass,
  activations: BufferBinding,
  dims: { batch: number; channels: number; pixels: number },
): GPUBuffer {
  const total = dims.batch * dims.channels;
  const centred = rec.storage(total * dims.pixels * 4, 'eigen centred');
  const params = rec.uniform([{ u32: dims.pixels }, { u32: total }]);
  rec.dispatch(pass, kernel, { WG }, [activations, centred, params], workgroupGrid(Math.ceil(total / WG)));
  return centred;
}
