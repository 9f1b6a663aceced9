import distanceSource from './kmeans_distance.wgsl?raw';
import { withLibraries } from '../../../gpu/wgsl-library.js';
import type { KernelDef } from '../../../gpu/pipelines.js';
import { workgroupGrid, type BufferBinding, type Recorder, type StagePass } from '../../../gpu/recorder.js';
import { KMEANS_CHUNK } from './cpu.js';

const WG = 64;
const distanceKernel: KernelDef = {
  name: 'kmeans_distance',
  source: withLibraries(distanceSource, 'flatIndex'),
  bindings: ['read', 'read', 'write', 'uniform'],
};

/** Where an indirect dispatch reads its workgroup counts (3 u32 at `offset` bytes). */
export interface IndirectArgs {
  args: GPUBuffer;
  offset: number;
}

/** Number of KMEANS_CHUNK-coordinate chunks a distance over `dims` is cut into. */
export function kmeansChunks(dims: number): number {
  return Math.ceil(dims / KMEANS_CHUNK);
}

/** Invocations of the distance kernel: one per tile (4 points x 4 centres, or 16 points x the seed) and chunk. */
function distanceInvocations(count: number, rows: number, dims: number, seeding: boolean): number {
  const tiles = seeding ? Math.ceil(count / 16) : Math.ceil(count / 4) * Math.ceil(rows / 4);
  return tiles * kmeansChunks(dims);
}

/** Workgroup grid of the distance kernel for `count` points x `rows` centroids. */
export function kmeansDistanceGrid(count: number, rows: number, dims: number, seeding = false): [number, number] {
  return workgroupGrid(Math.ceil(distanceInvocations(count, rows, dims, seeding) / WG));
}

/**
 * Chunk sums of squared distances, partial[(p * rows + k) * chunks + s]: to the K centroids
 * (`centres` = centroids [K, D], rows = K), or with `seedSlot` to the one seed point
 * points[seeds[seedSlot]] (`centres` = seeds [K] u32, rows = 1). With `indirect`, the
 * workgroup counts come from a GPU buffer (kmeansDistanceGrid's values, or zeros). Rows are
 * read as vec4s when D is a multiple of 4 (the points binding is then 16-byte aligned, as
 * WebGPU's storage offset alignment guarantees).
 */
export function recordKMeansDistances(
  rec: Recorder,
  pass: StagePass,
  inputs: { points: BufferBinding; centres: BufferBinding; partial: GPUBuffer },
  dims: { count: number; dims: number; rows: number },
  options: { seedSlot?: number; indirect?: IndirectArgs } = {},
): void {
  const seeding = options.seedSlot !== undefined;
  const vec4 = dims.dims % 4 === 0;
  const chunks = kmeansChunks(dims.dims);
  const params = rec.uniform([{ u32: dims.count }, { u32: vec4 ? dims.dims / 4 : dims.dims }, { u32: dims.rows }, { u32: chunks }, { u32: options.seedSlot ?? 0 }]);
  const defines = { WG, CHUNK: KMEANS_CHUNK, SEEDING: seeding, VEC4: vec4 };
  const resources = [inputs.points, inputs.centres, inputs.partial, params];
  if (options.indirect) {
    rec.dispatchIndirect(pass, distanceKernel, defines, resources, options.indirect.args, options.indirect.offset);
  } else {
    rec.dispatch(pass, distanceKernel, defines, resources, kmeansDistanceGrid(dims.count, dims.rows, dims.dims, seeding));
  }
}
