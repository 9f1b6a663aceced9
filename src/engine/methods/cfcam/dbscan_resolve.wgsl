// DBSCAN step 3: the cluster root of every remaining channel. Core points take their own
// root. A non-core point with core neighbours is a border point: scikit-learn's expansion
// reaches it first from the cluster with the smallest first core index, i.e. the smallest
// root among its core neighbours. Anything else is noise (NONE).
struct Params {
  channels: u32,
  batch_offset: u32,
}

@group(0) @binding(0) var<storage, read> distances: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read> core: array<u32>;
@group(0) @binding(3) var<storage, read> parent: array<u32>;
@group(0) @binding(4) var<storage, read_write> root: array<u32>;
@group(0) @binding(5) var<uniform> params: Params;

fn find_root(base: u32, start: u32) -> u32 {
  var x = start;
  loop {
    let p = parent[base + x];
    if (p == x) {
      return x;
    }
    x = p;
  }
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let b = params.batch_offset + wid.z;
  let i = wid.x * ${WG}u + lid;
  let m = state[b].remaining;
  if (i >= m) {
    return;
  }
  let base = b * c;
  if (core[base + i] == 1u) {
    root[base + i] = find_root(base, i);
    return;
  }
  let radius = state[b].radius;
  let plane = wid.z * c * c;
  var best = NONE;
  for (var j = 0u; j < m; j++) {
    if (core[base + j] == 1u && distances[plane + j * c + i] <= radius) {
      best = min(best, find_root(base, j));
    }
  }
  root[base + i] = best;
}
