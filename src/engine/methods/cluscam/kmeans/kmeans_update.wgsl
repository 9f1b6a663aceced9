// K-Means update: centroid k = the mean of its members, coordinate by coordinate: the float32
// sum over the members in increasing point index (the lists of kmeans_finish.wgsl), divided by
// the member count. A cluster without members keeps its centroid. No atomics.
//
// Rows are arrays of `elems` elements (vec4s with VEC4, D a multiple of 4; each coordinate is
// summed on its own, in the same order). One invocation per cluster and quarter-row position
// e < quarter = ceil(elems / 4): it sums elements e, e + quarter, e + 2 quarter, e + 3 quarter,
// so each member index it loads serves four element loads, and consecutive invocations read
// consecutive addresses.
struct Params {
  elems: u32,  // row length in array elements: D / 4 with VEC4, else D
  clusters: u32,
  quarter: u32,  // ceil(elems / 4)
}

#if ${VEC4}
alias Elem = vec4f;
#else
alias Elem = f32;
#endif

@group(0) @binding(0) var<storage, read> points: array<Elem>;
@group(0) @binding(1) var<storage, read> members: array<u32>;  // [count_k (K), end_k (K), order (N)]
@group(0) @binding(2) var<storage, read_write> centroids: array<Elem>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = flat_index(wid, nwg, lid);
  let elems = params.elems;
  let quarter = params.quarter;
  let k_count = params.clusters;
  if (g >= quarter * k_count) {
    return;
  }
  let k = g / quarter;
  let e0 = g % quarter;
  let n = members[k];
  if (n == 0u) {
    return;
  }
  // Element offsets within a row, clamped (the stores below skip the clamped ones).
  let last = elems - 1u;
  let e1 = min(e0 + quarter, last);
  let e2 = min(e0 + 2u * quarter, last);
  let e3 = min(e0 + 3u * quarter, last);
  let end = members[k_count + k];
  let order = 2u * k_count;
  var s0 = Elem(0.0);
  var s1 = Elem(0.0);
  var s2 = Elem(0.0);
  var s3 = Elem(0.0);
  for (var m = end - n; m < end; m++) {
    let base = members[order + m] * elems;
    s0 += points[base + e0];
    s1 += points[base + e1];
    s2 += points[base + e2];
    s3 += points[base + e3];
  }
  let count = Elem(f32(n));
  let row = k * elems;
  centroids[row + e0] = s0 / count;
  if (e0 + quarter < elems) {
    centroids[row + e0 + quarter] = s1 / count;
  }
  if (e0 + 2u * quarter < elems) {
    centroids[row + e0 + 2u * quarter] = s2 / count;
  }
  if (e0 + 3u * quarter < elems) {
    centroids[row + e0 + 3u * quarter] = s3 / count;
  }
}
