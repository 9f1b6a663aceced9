// DBSCAN step 1: a remaining channel is a core point when at least min_samples channels
// (itself included) lie within eps. Also starts the union-find forest: parent[i] = i.
// Thread i reads column i of the symmetric distance matrix, so neighbouring threads read
// neighbouring addresses.
struct Params {
  channels: u32,
  batch_offset: u32,
}

@group(0) @binding(0) var<storage, read> distances: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> core: array<u32>;
@group(0) @binding(3) var<storage, read_write> parent: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let b = params.batch_offset + wid.z;
  let i = wid.x * ${WG}u + lid;
  let m = state[b].remaining;
  if (i >= m) {
    return;
  }
  let radius = state[b].radius;
  let plane = wid.z * c * c;
  var count = 0u;
  for (var j = 0u; j < m; j++) {
    count += select(0u, 1u, distances[plane + j * c + i] <= radius);
  }
  core[b * c + i] = select(0u, 1u, count >= state[b].min_samples);
  parent[b * c + i] = i;
}
