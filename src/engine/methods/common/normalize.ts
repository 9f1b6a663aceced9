import source from './normalize.wgsl?raw';
import { withLibraries } from '../../gpu/wgsl-library.js';
import type { KernelDef } from '../../gpu/pipelines.js';
import { workgroupGrid, type Recorder, type StagePass } from '../../gpu/recorder.js';

const WG = 256;
const kernel: KernelDef = { name: 'normalize', source: withLibraries(source, 'flatIndex'), bindings: ['write', 'read', 'uniform'] };

/** 'minmax': (v-min)/((max-min)+1e-7), as pytorch-grad-cam; 'max': v/max when max > 0, as CF-CAM. */
export type NormalizeMode = 'minmax' | 'max';

/** Normalise `values` [batch, n] in place using per-image `stats` from recordImageStats. */
export function recordNormalize(
  rec: Recorder,
  pass: StagePass,
  values: GPUBuffer,
  stats: GPUBuffer,
  batch: number,
  n: number,
  mode: NormalizeMode,
): void {
  const total = batch * n;
  const params = rec.uniform([{ u32: n }, { u32: total }]);
  rec.dispatch(pass, kernel, { WG, MINMAX: mode === 'minmax' }, [values, stats, params], workgroupGrid(Math.ceil(total / WG)));
}
