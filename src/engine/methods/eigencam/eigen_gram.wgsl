// Eigen-CAM, step 2: the Gram matrix of the smaller side of the centred X (HW x C), so
// power iteration works on min(C, HW)^2 entries:
//   C <= HW: G = X^T X (C x C),   rows of Y are channels, reduction over pixels
//   C >  HW: G = X X^T (HW x HW), rows of Y are pixels,   reduction over channels
// Both are G[i, j] = sum_r Y(i, r) Y(j, r) with Y(i, r) = centred[b*image + i*stride_i + r*stride_r].
// Classic 16x16 tiling: each workgroup computes a 16x16 block of G for image wid.z,
// staging 16-wide slices of the reduction in workgroup memory.
struct Params {
  n: u32,
  m: u32,
  stride_i: u32,
  stride_r: u32,
  image: u32,
}

@group(0) @binding(0) var<storage, read> centred: array<f32>;
@group(0) @binding(1) var<storage, read_write> gram: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const T = 16u;
// tile[r][i]: the slice of rows i0..i0+15 (resp. j0..j0+15) over reduction indices r0..r0+15.
var<workgroup> tile_i: array<array<f32, 16>, 16>;
var<workgroup> tile_j: array<array<f32, 16>, 16>;

fn load(b: u32, row: u32, r: u32) -> f32 {
  if (row >= params.n || r >= params.m) {
    return 0.0;
  }
  return centred[b * params.image + row * params.stride_i + r * params.stride_r];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let i0 = wid.y * T;
  let j0 = wid.x * T;
  // Which tile element this thread loads: make consecutive threads walk the dimension that
  // is contiguous in memory (pixels are contiguous; channels are H*W apart).
  var e_row = lid / T;
  var e_r = lid % T;
  if (params.stride_i == 1u) {
    e_row = lid % T;
    e_r = lid / T;
  }
  var acc = 0.0;
  for (var r0 = 0u; r0 < params.m; r0 += T) {
    tile_i[e_r][e_row] = load(b, i0 + e_row, r0 + e_r);
    tile_j[e_r][e_row] = load(b, j0 + e_row, r0 + e_r);
    workgroupBarrier();
    for (var r = 0u; r < T; r++) {
      acc += tile_i[r][local.y] * tile_j[r][local.x];
    }
    workgroupBarrier();
  }
  let i = i0 + local.y;
  let j = j0 + local.x;
  if (i < params.n && j < params.n) {
    gram[(b * params.n + i) * params.n + j] = acc;
  }
}
