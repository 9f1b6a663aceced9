// Sorts each image's C values ascending by counting ranks: value i goes to position
// #{j : x_j < x_i or (x_j == x_i and j < i)}. O(C^2) comparisons, all independent, no
// synchronisation; for C in the thousands this is cheaper on a GPU than a merge sort.
struct Params {
  count: u32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read_write> sorted: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> tile: array<f32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = params.count;
  let base = wid.z * n;
  let i = wid.x * ${WG}u + lid;
  var x = 0.0;
  if (i < n) {
    x = values[base + i];
  }
  var rank = 0u;
  // Walk all values in tiles shared by the workgroup.
  for (var start = 0u; start < n; start += ${WG}u) {
    if (start + lid < n) {
      tile[lid] = values[base + start + lid];
    }
    workgroupBarrier();
    let len = min(${WG}u, n - start);
    for (var t = 0u; t < len; t++) {
      let y = tile[t];
      let j = start + t;
      rank += select(0u, 1u, y < x || (y == x && j < i));
    }
    workgroupBarrier();
  }
  if (i < n) {
    sorted[base + rank] = x;
  }
}
