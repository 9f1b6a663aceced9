// DBSCAN step 2: clusters are the connected components of core points joined by edges
// d <= radius. Lock-free union-find on atomics. A root is always
// hooked under the smaller root (compare-and-swap on the larger root's parent), so parent
// pointers only ever decrease: there are no cycles, and when every edge is processed each
// component's root is its smallest index, which is the order scikit-learn numbers clusters in.
struct Params {
  channels: u32,
  batch_offset: u32,
}

@group(0) @binding(0) var<storage, read> distances: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read> core: array<u32>;
@group(0) @binding(3) var<storage, read_write> parent: array<atomic<u32>>;
@group(0) @binding(4) var<uniform> params: Params;

// Root of x, halving the path on the way (a node may point to any ancestor: still smaller).
fn find_root(base: u32, start: u32) -> u32 {
  var x = start;
  loop {
    let p = atomicLoad(&parent[base + x]);
    if (p == x) {
      return x;
    }
    let grand = atomicLoad(&parent[base + p]);
    if (grand != p) {
      atomicStore(&parent[base + x], grand);
    }
    x = grand;
  }
}

fn unite(base: u32, a: u32, b: u32) {
  var ra = find_root(base, a);
  var rb = find_root(base, b);
  loop {
    if (ra == rb) {
      return;
    }
    let high = max(ra, rb);
    let low = min(ra, rb);
    if (atomicCompareExchangeWeak(&parent[base + high], high, low).exchanged) {
      return;
    }
    // Someone hooked `high` first (or the exchange failed spuriously): retry from the roots.
    ra = find_root(base, high);
    rb = find_root(base, low);
  }
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  // Thread (column j, segment of ${SPAN} rows i < j): only the upper triangle is visited, and
  // neighbouring threads read neighbouring columns (consecutive addresses).
  let c = params.channels;
  let b = params.batch_offset + wid.z;
  let m = state[b].remaining;
  let j = wid.x * ${WG}u + lid;
  let i_start = wid.y * ${SPAN}u;
  let i_end = min(i_start + ${SPAN}u, j);
  let base = b * c;
  if (j >= m || i_start >= i_end || core[base + j] == 0u) {
    return;
  }
  let radius = state[b].radius;
  let plane = wid.z * c * c;
  for (var i = i_start; i < i_end; i++) {
    if (core[base + i] == 1u && distances[plane + i * c + j] <= radius) {
      unite(base, i, j);
    }
  }
}
