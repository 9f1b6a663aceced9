// Consumes one radix-select histogram pass: for each sought rank, finds the digit whose bucket
// holds it, fixes those bits in the prefix and makes the rank relative to the bucket; then
// clears the histogram for the next pass. After the last pass (shift 0) the prefixes are the
// exact bit patterns of the two order statistics, and eps is interpolated between them.
struct Params {
  channels: u32,
  shift: u32,
  bits: u32,
  batch_offset: u32,
  shared_first: u32,   // 1: both ranks read the rank-0 half (the distance kernel's first digit)
}

@group(0) @binding(0) var<storage, read_write> histogram: array<u32>;
@group(0) @binding(1) var<storage, read_write> state: array<ImageState>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = params.batch_offset + wid.x;
  let hist = wid.x * 2u * ${BINS}u;
  let bins = 1u << params.bits;
  if (lid < 2u && state[b].remaining >= 2u) {
    let which = lid;
    let half = hist + select(which, 0u, params.shared_first == 1u) * ${BINS}u;
    var rank = state[b].select_rank[which];
    var below = 0u;
    for (var digit = 0u; digit < bins; digit++) {
      let count = histogram[half + digit];
      if (rank < below + count) {
        state[b].select_prefix[which] |= digit << params.shift;
        state[b].select_rank[which] = rank - below;
        break;
      }
      below += count;
    }
  }
  // Thread 0 reads the prefix that thread 1 wrote; every thread clears after both have read.
  storageBarrier();
  for (var bin = lid; bin < 2u * ${BINS}u; bin += 64u) {
    histogram[hist + bin] = 0u;
  }
  if (lid == 0u && params.shift == 0u && state[b].remaining >= 2u) {
    let low = bitcast<f32>(state[b].select_prefix[0]);
    let high = bitcast<f32>(state[b].select_prefix[1]);
    let eps = lerp_numpy(low, high, state[b].eps_frac);
    state[b].eps = max(eps, 1e-5);
    state[b].radius = select(low, 1e-5, eps < 1e-5);
  }
}
