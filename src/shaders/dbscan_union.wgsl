// DBSCAN step 2: clusters are the connected components of core points joined by edges
// d <= radius, read from the neighbour bit rows (dbscan_neighbours.wgsl). Lock-free
// union-find on atomics. A root is always hooked under the smaller root (compare-and-swap on
// the larger root's parent), so parent pointers only ever decrease: there are no cycles, and
// when every edge is processed each component's root is its smallest index, which is the
// order scikit-learn numbers clusters in.
struct Params {
  channels: u32,
  batch_offset: u32,
  words: u32,
}

@group(0) @binding(0) var<storage, read> neighbours: array<u32>;  // [chunk, C, words]
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read> core: array<u32>;
@group(0) @binding(3) var<storage, read> core_bits: array<u32>;  // [B, words]
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;
@group(0) @binding(5) var<uniform> params: Params;

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
  // One workgroup per core row i; thread t takes words t, t + ${WG}, ... of the row's core
  // neighbours above the diagonal (j > i): each edge is visited once.
  let c = params.channels;
  let b = params.batch_offset + wid.z;
  let i = wid.x;
  let m = state[b].remaining;
  let base = b * c;
  if (i >= m || core[base + i] == 0u) {
    return;
  }
  let bit_row = (wid.z * c + i) * params.words;
  let used_words = (m + 31u) / 32u;
  let first_word = i / 32u;
  for (var w = first_word + lid; w < used_words; w += ${WG}u) {
    var bits = neighbours[bit_row + w] & core_bits[b * params.words + w];
    if (w == first_word) {
      // Keep only j > i: bit (i % 32) and below go (2u << 31u wraps to 0, keeping nothing).
      bits &= ~((2u << (i % 32u)) - 1u);
    }
    loop {
      if (bits == 0u) {
        break;
      }
      let t = firstTrailingBit(bits);
      unite(base, i, w * 32u + t);
      bits &= bits - 1u;
    }
  }
}
