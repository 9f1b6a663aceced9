import imageState from '../methods/cfcam/cfcam_state.wgsl?raw';
import reduce from './wgsl/reduce.wgsl?raw';
import scan from './wgsl/scan.wgsl?raw';
import flatIndex from './wgsl/flat_index.wgsl?raw';

/**
 * Shared WGSL snippets. WGSL has no includes, so a kernel's source is the snippets it needs
 * followed by its own file; each snippet is written once, in src/engine/gpu/wgsl/.
 */
export const WGSL_LIBRARY = {
  /** CF-CAM's per-image ImageState struct, NONE, lerp_numpy. */
  imageState,
  /** reduce_sum / reduce_min / reduce_max over a workgroup (needs WG). */
  reduce,
  /** exclusive_scan over a workgroup (needs WG). */
  scan,
  /** flat_workgroup / flat_index in workgroupGrid's 2-D grids (flat_index needs WG). */
  flatIndex,
} as const;

export function withLibraries(source: string, ...libraries: (keyof typeof WGSL_LIBRARY)[]): string {
  return [...libraries.map((name) => WGSL_LIBRARY[name]), source].join('\n');
}
