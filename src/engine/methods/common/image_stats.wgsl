// Per-image minimum and maximum of a [B, n] array: one workgroup per image, a strided
// scan then the shared workgroup reductions (lib/reduce.wgsl). Output: stats[2b] = min, stats[2b+1] = max.
struct Params {
  n: u32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;


@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * params.n;
  var lo = 3.402823e38;
  var hi = -3.402823e38;
  for (var i = lid; i < params.n; i += ${WG}u) {
    let v = values[base + i];
    lo = min(lo, v);
    hi = max(hi, v);
  }
  lo = reduce_min(lid, lo);
  hi = reduce_max(lid, hi);
  if (lid == 0u) {
    stats[2u * wid.x] = lo;
    stats[2u * wid.x + 1u] = hi;
  }
}
