// K-Means++ step, part 1: D2(p) = min(D2(p), ||p - s_j||^2) for the seed s_j just chosen
// (FIRST: D2(p) = ||p - s_0||^2). The distance is the float32 sum, in chunk order, of the
// chunk sums written by kmeans_distance.wgsl (SEEDING). One invocation per point.
struct Params {
  count: u32,
  chunks: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;  // [N, chunks]
@group(0) @binding(1) var<storage, read_write> d2: array<f32>;  // [N]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = gid.x;
  if (p >= params.count) {
    return;
  }
  let base = p * params.chunks;
  var d = 0.0;
  for (var s = 0u; s < params.chunks; s++) {
    d += partial[base + s];
  }
#if ${FIRST}
  d2[p] = d;
#else
  d2[p] = min(d2[p], d);
#endif
}
