// K-Means: the initial centroids are copies of the seed points, centroids[k] = points[seeds[k]].
// One invocation per coordinate; consecutive invocations copy consecutive addresses.
struct Params {
  dims: u32,
  clusters: u32,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> seeds: array<u32>;
@group(0) @binding(2) var<storage, read_write> centroids: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = flat_index(wid, nwg, lid);
  let dims = params.dims;
  if (g >= dims * params.clusters) {
    return;
  }
  let k = g / dims;
  let d = g % dims;
  centroids[g] = points[seeds[k] * dims + d];
}
