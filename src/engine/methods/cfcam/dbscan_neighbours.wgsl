// DBSCAN step 1, the only DBSCAN pass over the C x C distance matrix: packs each remaining
// channel's neighbourhood (d <= radius, itself included) into a bit row, neighbours[i, w] bit t
// = channel 32w + t, and decides core points (at least min_samples neighbours) from the bit
// count. Also starts the union-find forest (parent[i] = i) and sets core_bits, the core
// points as one bit row per image. The later steps read only these bits: 32 times fewer bytes.
// Thread i walks row i of the matrix from its start (the matrix is symmetric), a sequential
// stream per thread: on SwiftShader this measured faster than walking column i (neighbouring
// threads at neighbouring addresses, but a new cache line and page per step). No workgroup
// memory or barriers.
struct Params {
  channels: u32,
  batch_offset: u32,
  words: u32,   // u32 words per bit row: ceil(C / 32)
}

@group(0) @binding(0) var<storage, read> distances: array<f32>;  // [chunk, C, C]
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> neighbours: array<u32>;  // [chunk, C, words]
@group(0) @binding(3) var<storage, read_write> core: array<u32>;  // [B, C]
@group(0) @binding(4) var<storage, read_write> core_bits: array<atomic<u32>>;  // [B, words], zeroed
@group(0) @binding(5) var<storage, read_write> parent: array<u32>;  // [B, C]
@group(0) @binding(6) var<uniform> params: Params;

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
  let row = wid.z * c * c + i * c;
  let bit_row = (wid.z * c + i) * params.words;
  var count = 0u;
  var bits = 0u;
  for (var j = 0u; j < m; j++) {
    if (distances[row + j] <= radius) {
      bits |= 1u << (j % 32u);
    }
    if (j % 32u == 31u || j + 1u == m) {
      neighbours[bit_row + j / 32u] = bits;
      count += countOneBits(bits);
      bits = 0u;
    }
  }
  let is_core = count >= state[b].min_samples;
  core[b * c + i] = select(0u, 1u, is_core);
  parent[b * c + i] = i;
  if (is_core) {
    atomicOr(&core_bits[b * params.words + i / 32u], 1u << (i % 32u));
  }
}
