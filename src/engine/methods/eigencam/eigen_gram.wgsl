// Eigen-CAM, step 2: the Gram matrix of the smaller side of the centred X (HW x C), so
// power iteration works on min(C, HW)^2 entries:
//   C <= HW: G = X^T X (C x C),   rows of Y are channels, reduction over pixels
//   C >  HW: G = X X^T (HW x HW), rows of Y are pixels,   reduction over channels
// Both are G[i, j] = sum_r Y(i, r) Y(j, r) with Y(i, r) = centred[b*image + i*stride_i + r*stride_r].
// Register tiling, no workgroup memory: each invocation owns a 4x4 block of G (rows i0..i0+3,
// columns j0..j0+3) and reads 8 values of Y per reduction step for 16 products. Without
// workgroup barriers the kernel is fast on a software GPU too (SwiftShader's barriers cost
// more than the arithmetic), and each entry is still summed over r in order. G is symmetric:
// only blocks on or above the diagonal are computed, and each is written to both triangles
// (yi * yj and yj * yi are the same float product, so G[j, i] = G[i, j] bit for bit).
struct Params {
  n: u32,
  m: u32,
  stride_i: u32,
  stride_r: u32,
  image: u32,
  batch: u32,
}

@group(0) @binding(0) var<storage, read> centred: array<f32>;
@group(0) @binding(1) var<storage, read_write> gram: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const R = 4u;

// Rows past n read row n - 1 (a valid address); their sums are never written.
fn rows(base: u32, first: u32) -> vec4u {
  let last = params.n - 1u;
  return vec4u(min(first, last), min(first + 1u, last), min(first + 2u, last), min(first + 3u, last)) * params.stride_i + vec4u(base);
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = params.n;
  let blocks = (n + R - 1u) / R;
  let index = flat_index(wid, nwg, lid);
  let b = index / (blocks * blocks);
  if (b >= params.batch) {
    return;
  }
  let block = index % (blocks * blocks);
  if (block % blocks < block / blocks) {
    return;
  }
  let i0 = (block / blocks) * R;
  let j0 = (block % blocks) * R;
  let ri = rows(b * params.image, i0);
  let rj = rows(b * params.image, j0);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var r = 0u; r < params.m; r++) {
    let offset = r * params.stride_r;
    let yi = vec4f(centred[ri.x + offset], centred[ri.y + offset], centred[ri.z + offset], centred[ri.w + offset]);
    let yj = vec4f(centred[rj.x + offset], centred[rj.y + offset], centred[rj.z + offset], centred[rj.w + offset]);
    acc0 += yi.x * yj;
    acc1 += yi.y * yj;
    acc2 += yi.z * yj;
    acc3 += yi.w * yj;
  }
  let sums = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var a = 0u; a < R; a++) {
    let i = i0 + a;
    if (i >= n) {
      break;
    }
    for (var c = 0u; c < R; c++) {
      let j = j0 + c;
      if (j < n) {
        gram[(b * n + i) * n + j] = sums[a][c];
        gram[(b * n + j) * n + i] = sums[a][c];
      }
    }
  }
}
