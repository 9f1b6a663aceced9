// One pass of an exact radix select over the upper-triangle distances (i < j < m) of each
// image. Distances are non-negative floats, whose bit patterns sort like the values, so the
// k-th smallest is found a digit at a time from the top (digits: radix-digits.ts; the first
// one is counted by pairwise_distance.wgsl). This pass counts, for each of the two sought
// ranks, the values whose already-fixed high bits equal that rank's prefix, by their next
// digit. Thread (column j, segment of ${SPAN} rows i < j) walks down its column, keeping a
// running count while the digit repeats and adding it to the global histogram when the digit
// changes: distances in one bucket are common, so this needs few atomics and no workgroup
// memory or barriers. Neighbouring threads take neighbouring columns: consecutive addresses.
struct Params {
  channels: u32,
  shift: u32,          // lowest bit of this pass's digit
  bits: u32,           // digit width
  batch_offset: u32,
  shared_first: u32,   // 1: the histogram's rank-0 half serves both ranks (first digit)
}

@group(0) @binding(0) var<storage, read> distances: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> histogram: array<atomic<u32>>;  // [chunk, 2, ${BINS}]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let b = params.batch_offset + wid.z;
  let m = state[b].remaining;
  let j = wid.x * ${WG}u + lid;
  let i_start = wid.y * ${SPAN}u;
  let i_end = min(i_start + ${SPAN}u, j);
  if (j >= m || i_start >= i_end) {
    return;
  }
  let shift = params.shift;
  let top = shift + params.bits;
  // Bits from `top` up are fixed by earlier passes.
  var mask = 0u;
  if (top < 32u) {
    mask = ~((1u << top) - 1u);
  }
  let digit_mask = (1u << params.bits) - 1u;
  let hist0 = wid.z * 2u * ${BINS}u;
  let hist1 = hist0 + ${BINS}u;
  let prefix0 = state[b].select_prefix[0];
  let prefix1 = state[b].select_prefix[1];
  // One run per sought rank, kept in plain variables (indexing a private array by a loop
  // variable is slow on some implementations).
  var digit0 = NONE;
  var count0 = 0u;
  var digit1 = NONE;
  var count1 = 0u;
  for (var i = i_start; i < i_end; i++) {
    let bits = bitcast<u32>(distances[wid.z * c * c + i * c + j]);
    let high = bits & mask;
    let digit = (bits >> shift) & digit_mask;
    if (high == prefix0) {
      if (digit != digit0) {
        if (count0 > 0u) {
          atomicAdd(&histogram[hist0 + digit0], count0);
        }
        digit0 = digit;
        count0 = 0u;
      }
      count0++;
    }
    if (high == prefix1) {
      if (digit != digit1) {
        if (count1 > 0u) {
          atomicAdd(&histogram[hist1 + digit1], count1);
        }
        digit1 = digit;
        count1 = 0u;
      }
      count1++;
    }
  }
  if (count0 > 0u) {
    atomicAdd(&histogram[hist0 + digit0], count0);
  }
  if (count1 > 0u) {
    atomicAdd(&histogram[hist1 + digit1], count1);
  }
}
