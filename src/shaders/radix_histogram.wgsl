// One pass of an exact radix select over the upper-triangle distances (i < j < m) of each
// image. Distances are non-negative floats, whose bit patterns sort like the values, so the
// k-th smallest is found 8 bits at a time from the top. This pass counts, for each of the two
// sought ranks, the values whose already-fixed high bits equal that rank's prefix, by their
// next 8 bits.
struct Params {
  channels: u32,
  shift: u32,          // 24, 16, 8, 0
  batch_offset: u32,
}

const ITEMS: u32 = 8u;

@group(0) @binding(0) var<storage, read> distances: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> histogram: array<atomic<u32>>;  // [chunk, 2, 256]
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> local_hist: array<atomic<u32>, 512>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  for (var bin = lid; bin < 512u; bin += ${WG}u) {
    atomicStore(&local_hist[bin], 0u);
  }
  workgroupBarrier();

  let c = params.channels;
  let b = params.batch_offset + wid.z;
  let m = state[b].remaining;
  let shift = params.shift;
  // Bits above shift + 8 are fixed by earlier passes.
  var mask = 0u;
  if (shift < 24u) {
    mask = ~((1u << (shift + 8u)) - 1u);
  }
  let prefix0 = state[b].select_prefix[0];
  let prefix1 = state[b].select_prefix[1];
  let plane = wid.z * c * c;
  let first = (wid.x + wid.y * nwg.x) * ${WG}u * ITEMS + lid;
  for (var t = 0u; t < ITEMS; t++) {
    let e = first + t * ${WG}u;
    let i = e / c;
    let j = e % c;
    if (i < j && j < m) {
      let bits = bitcast<u32>(distances[plane + e]);
      let digit = (bits >> shift) & 255u;
      if ((bits & mask) == prefix0) {
        atomicAdd(&local_hist[digit], 1u);
      }
      if ((bits & mask) == prefix1) {
        atomicAdd(&local_hist[256u + digit], 1u);
      }
    }
  }
  workgroupBarrier();
  for (var bin = lid; bin < 512u; bin += ${WG}u) {
    let count = atomicLoad(&local_hist[bin]);
    if (count > 0u) {
      atomicAdd(&histogram[wid.z * 512u + bin], count);
    }
  }
}
