// One pass of an exact radix select over the upper-triangle distances (i < j < m) of each
// image. Distances are non-negative floats, whose bit patterns sort like the values, so the
// k-th smallest is found 8 bits at a time from the top. This pass counts, for each of the two
// sought ranks, the values whose already-fixed high bits equal that rank's prefix, by their
// next 8 bits. Thread (row i, segment of ${SPAN} columns) keeps a running count while the digit
// repeats and adds it to the global histogram when the digit changes: distances in one bucket
// are common, so this needs few atomics and no workgroup memory or barriers.
struct Params {
  channels: u32,
  shift: u32,          // 24, 16, 8, 0
  batch_offset: u32,
}

@group(0) @binding(0) var<storage, read> distances: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> histogram: array<atomic<u32>>;  // [chunk, 2, 256]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let b = params.batch_offset + wid.z;
  let m = state[b].remaining;
  let i = wid.y;
  let j_start = max((wid.x * ${WG}u + lid) * ${SPAN}u, i + 1u);
  let j_end = min((wid.x * ${WG}u + lid + 1u) * ${SPAN}u, m);
  if (i >= m || j_start >= j_end) {
    return;
  }
  let shift = params.shift;
  // Bits above shift + 8 are fixed by earlier passes.
  var mask = 0u;
  if (shift < 24u) {
    mask = ~((1u << (shift + 8u)) - 1u);
  }
  let hist = wid.z * 512u;
  for (var which = 0u; which < 2u; which++) {
    let prefix = state[b].select_prefix[which];
    var run_digit = NONE;
    var run_count = 0u;
    for (var j = j_start; j < j_end; j++) {
      let bits = bitcast<u32>(distances[wid.z * c * c + i * c + j]);
      if ((bits & mask) != prefix) {
        continue;
      }
      let digit = (bits >> shift) & 255u;
      if (digit != run_digit) {
        if (run_count > 0u) {
          atomicAdd(&histogram[hist + which * 256u + run_digit], run_count);
        }
        run_digit = digit;
        run_count = 0u;
      }
      run_count++;
    }
    if (run_count > 0u) {
      atomicAdd(&histogram[hist + which * 256u + run_digit], run_count);
    }
  }
}
