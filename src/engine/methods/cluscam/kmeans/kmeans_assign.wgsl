// K-Means assignment: each point's nearest centroid. The squared distance to centroid k is the
// float32 sum, in chunk order, of the chunk sums of kmeans_distance.wgsl; a strictly smaller
// distance wins, so ties go to the lowest index. Records the point's distance (for the
// inertia) and raises flags.changed when the assignment differs from the previous one.
// One invocation per point (dispatched indirectly during Lloyd: zero workgroups once
// converged, see kmeans_finish.wgsl).
struct Params {
  count: u32,
  clusters: u32,
  chunks: u32,
}

struct Flags {
  running: u32,
  changed: atomic<u32>,
  iterations: u32,
  max_iterations: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;            // [N, K, chunks]
@group(0) @binding(1) var<storage, read_write> assignments: array<u32>;  // [N]
@group(0) @binding(2) var<storage, read_write> distances: array<f32>;    // [N]
@group(0) @binding(3) var<storage, read_write> flags: Flags;
@group(0) @binding(4) var<uniform> params: Params;

fn distance_to(p: u32, k: u32) -> f32 {
  let chunks = params.chunks;
  let base = (p * params.clusters + k) * chunks;
  var d = 0.0;
  for (var s = 0u; s < chunks; s++) {
    d += partial[base + s];
  }
  return d;
}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = gid.x;
  if (p >= params.count) {
    return;
  }
  var best = 0u;
  var best_distance = distance_to(p, 0u);
  for (var k = 1u; k < params.clusters; k++) {
    let d = distance_to(p, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  if (assignments[p] != best) {
    assignments[p] = best;
    atomicOr(&flags.changed, 1u);
  }
  distances[p] = best_distance;
}
