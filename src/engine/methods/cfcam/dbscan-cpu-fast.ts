/**
 * DBSCAN (scikit-learn's labels, the rule of dbscan-cpu.ts) on thresholded neighbour
 * lists: the pairs with d <= eps are gathered once from the packed distances, and every later
 * step walks those edges instead of scanning the dense m x m matrix again.
 */
import type { DbscanResult } from './dbscan-cpu.js';
import type { SimdKernels } from '../../simd/kernels.js';

/** Neighbour pairs as a flat list [i0, j0, i1, j1, ...] with i < j, and each point's neighbour count (itself excluded). */
export interface NeighbourEdges {
  pairs: Int32Array;
  count: number;
  degrees: Int32Array;
}

/**
 * The pairs (i, j), i < j, of the packed upper triangle (pair (i,j) at i*(2m-i-1)/2 + j-i-1)
 * whose distance is <= threshold (a float32 value: see neighbourThresholdF32).
 */
export function thresholdEdges(packed: Float32Array, m: number, threshold: number): NeighbourEdges {
  let pairs = new Int32Array(Math.max(1024, Math.min(packed.length, 1 << 16) * 2));
  let count = 0;
  let k = 0;
  for (let i = 0; i < m - 1; i++) {
    for (let j = i + 1; j < m; j++, k++) {
      if (packed[k] <= threshold) {
        if (2 * count + 2 > pairs.length) {
          const grown = new Int32Array(pairs.length * 2);
          grown.set(pairs);
          pairs = grown;
        }
        pairs[2 * count] = i;
        pairs[2 * count + 1] = j;
        count++;
      }
    }
  }
  const degrees = new Int32Array(m);
  for (let e = 0; e < 2 * count; e++) degrees[pairs[e]]++;
  return { pairs, count, degrees };
}

/**
 * thresholdEdges over a packed triangle at byte offset `packed` of the kernels' memory, in
 * WebAssembly: one SIMD counting pass sizes the list, one compare-and-bitmask pass fills it.
 * The returned arrays are views into the kernels' memory (valid until their next allocation).
 */
export function thresholdEdgesIn(kernels: SimdKernels, packed: number, m: number, threshold: number): NeighbourEdges {
  const count = kernels.countLessEqual(packed, (m * (m - 1)) / 2, threshold);
  const out = kernels.allocFloats(2 * count);
  const deg = kernels.allocZeroed(m);
  const written = kernels.edgesLessEqual(packed, m, threshold, out, deg);
  if (written !== count) throw new Error(`neighbour edges: counted ${count}, wrote ${written}`);
  return { pairs: kernels.i32(out, 2 * count), count, degrees: kernels.i32(deg, m) };
}

function find(parent: Int32Array, i: number): number {
  let root = i;
  while (parent[root] !== root) root = parent[root];
  while (parent[i] !== root) {
    const next = parent[i];
    parent[i] = root;
    i = next;
  }
  return root;
}

/** DBSCAN over m points from their neighbour edges (every point is its own neighbour too). */
export function dbscanEdges({ pairs, count, degrees }: NeighbourEdges, m: number, minSamples: number): DbscanResult {
  // Core: the neighbour count, the point itself included, reaches minSamples.
  const core = new Uint8Array(m);
  for (let i = 0; i < m; i++) core[i] = degrees[i] + 1 >= minSamples ? 1 : 0;

  // Components of core points; the root of each set is its smallest index.
  const parent = new Int32Array(m);
  for (let i = 0; i < m; i++) parent[i] = i;
  for (let e = 0; e < 2 * count; e += 2) {
    let ri = pairs[e];
    let rj = pairs[e + 1];
    if (!core[ri] || !core[rj]) continue;
    // Find both roots with path halving, inline: this loop runs once per edge.
    while (parent[ri] !== ri) ri = parent[ri] = parent[parent[ri]];
    while (parent[rj] !== rj) rj = parent[rj] = parent[parent[rj]];
    if (ri < rj) parent[rj] = ri;
    else if (rj < ri) parent[ri] = rj;
  }

  const root = new Int32Array(m);
  for (let i = 0; i < m; i++) root[i] = find(parent, i);
  const clusterOfRoot = new Int32Array(m).fill(-1);
  let clusters = 0;
  for (let i = 0; i < m; i++) if (core[i] && root[i] === i) clusterOfRoot[i] = clusters++;

  // Border points take the cluster of the smallest root among their core neighbours.
  const bestRoot = new Int32Array(m).fill(m);
  for (let e = 0; e < count; e++) {
    const i = pairs[2 * e];
    const j = pairs[2 * e + 1];
    if (core[i] === core[j]) continue;
    if (core[i]) {
      if (root[i] < bestRoot[j]) bestRoot[j] = root[i];
    } else if (root[j] < bestRoot[i]) bestRoot[i] = root[j];
  }
  const labels = new Int32Array(m).fill(-1);
  for (let i = 0; i < m; i++) {
    if (core[i]) labels[i] = clusterOfRoot[root[i]];
    else if (bestRoot[i] < m) labels[i] = clusterOfRoot[bestRoot[i]];
  }
  return { labels, clusters, core };
}
