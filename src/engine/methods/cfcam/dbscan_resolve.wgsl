// DBSCAN step 3: the cluster root of every remaining channel. Core points take their own
// root. A non-core point with core neighbours is a border point: scikit-learn's expansion
// reaches it first from the cluster with the smallest first core index, i.e. the smallest
// root among its core neighbours (its neighbour bit row AND the core bit row). Anything else
// is noise (NONE).
struct Params {
  channels: u32,
  batch_offset: u32,
  words: u32,
}

@group(0) @binding(0) var<storage, read> neighbours: array<u32>;  // [chunk, C, words]
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read> core: array<u32>;
@group(0) @binding(3) var<storage, read> core_bits: array<u32>;
@group(0) @binding(4) var<storage, read> parent: array<u32>;
@group(0) @binding(5) var<storage, read_write> root: array<u32>;
@group(0) @binding(6) var<uniform> params: Params;

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
  let bit_row = (wid.z * c + i) * params.words;
  let used_words = (m + 31u) / 32u;
  var best = NONE;
  for (var w = 0u; w < used_words; w++) {
    var bits = neighbours[bit_row + w] & core_bits[b * params.words + w];
    loop {
      if (bits == 0u) {
        break;
      }
      let t = firstTrailingBit(bits);
      best = min(best, find_root(base, w * 32u + t));
      bits &= bits - 1u;
    }
  }
  root[base + i] = best;
}
