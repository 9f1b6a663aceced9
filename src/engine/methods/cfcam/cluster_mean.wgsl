// Mean gradient map of each DBSCAN cluster: g_j[p] = mean over the cluster's channels of G_k[p].
// One thread per (cluster slot, pixel); the slot count is not known when the work is recorded,
// so slots beyond the image's cluster count return at once.
struct Params {
  channels: u32,
  pixels: u32,
}

@group(0) @binding(0) var<storage, read> gradients: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read> remaining_index: array<u32>;
@group(0) @binding(3) var<storage, read> remaining_label: array<i32>;
@group(0) @binding(4) var<storage, read_write> cluster_gradient: array<f32>;  // [B, C, pixels]
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let n = params.pixels;
  let b = wid.z;
  let e = flat_index(wid, nwg, lid);
  let cluster = e / n;
  let p = e % n;
  if (cluster >= state[b].clusters) {
    return;
  }
  let base = b * c;
  let m = state[b].remaining;
  var sum = 0.0;
  var count = 0u;
  for (var i = 0u; i < m; i++) {
    if (remaining_label[base + i] == i32(cluster)) {
      sum += gradients[(base + remaining_index[base + i]) * n + p];
      count++;
    }
  }
  cluster_gradient[(base + cluster) * n + p] = sum / f32(count);
}
