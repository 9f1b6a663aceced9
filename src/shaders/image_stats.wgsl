// Per-image minimum and maximum of a [B, n] array: one workgroup per image, a strided
// scan then a tree reduction in workgroup memory. Output: stats[2b] = min, stats[2b+1] = max.
struct Params {
  n: u32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> lows: array<f32, ${WG}>;
var<workgroup> highs: array<f32, ${WG}>;

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
  lows[lid] = lo;
  highs[lid] = hi;
  workgroupBarrier();
  for (var stride = ${WG}u / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      lows[lid] = min(lows[lid], lows[lid + stride]);
      highs[lid] = max(highs[lid], highs[lid + stride]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    stats[2u * wid.x] = lows[0];
    stats[2u * wid.x + 1u] = highs[0];
  }
}
