// Euclidean distances between the remaining channels of each image, register-tiled:
// D[i, j] = sqrt(sum_p (A_i[p] - A_j[p])^2), summed pixel by pixel in order (exactly as the CPU
// reference and the golden cases: each pair's float32 sum sees the same additions in the same
// order as a plain loop, whatever the tiling).
//
// Each invocation owns an 8 x 8 block of pairs (rows i0..i0+7, columns j0..j0+7) in sixteen
// vec4 accumulators, and only blocks that reach the upper triangle run (the matrix is
// symmetric; both halves are written). Per pixel it loads four vec4s from the pixel-major,
// 4-padded copy of the remaining channels (gather_remaining.wgsl): two loads of four rows and
// two of four columns serve 64 pairs, where one thread per pair needed two loads per pair.
// Neighbouring invocations take neighbouring column blocks, so their loads are consecutive, and
// the row loads are shared by the whole workgroup (cache hits). Staging rows in workgroup
// memory measured 2-3x slower on SwiftShader (barriers between 256 invocations), so the reuse
// is left to the caches.
//
// Fused here, to save a pass over the C x C matrix: the first digit of the eps radix select
// (radix_select.wgsl). Every upper-triangle pair (i < j < m) adds its top ${FIRST_BITS} float
// bits to histogram[chunk image, 0, digit] (both sought ranks start from the same empty
// prefix, so one histogram serves both); runs of equal digits cost one atomic.
struct Params {
  channels: u32,
  pixels: u32,
  batch_offset: u32,
  padded: u32,   // row stride of `columns` in floats: C rounded up to a multiple of 8
}

@group(0) @binding(0) var<storage, read> columns: array<vec4<f32>>;  // [B, pixels, padded / 4]
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> distances: array<f32>;  // [chunk, C, C]
@group(0) @binding(3) var<storage, read_write> histogram: array<atomic<u32>>;  // [chunk, 2, ${BINS}]
@group(0) @binding(4) var<uniform> params: Params;

var<private> run_digit: u32;
var<private> run_count: u32;
var<private> hist_base: u32;

fn count_digit(d: f32) {
  let digit = bitcast<u32>(d) >> (32u - ${FIRST_BITS}u);
  if (digit != run_digit) {
    if (run_count > 0u) {
      atomicAdd(&histogram[hist_base + run_digit], run_count);
    }
    run_digit = digit;
    run_count = 0u;
  }
  run_count++;
}

// Writes the distances of row i to columns j0..j0+3 (from their sums) and counts their digits.
fn emit(i: u32, j0: u32, sums: vec4<f32>, m: u32, plane: u32) {
  if (i >= m) {
    return;
  }
  let d = sqrt(sums);
  let c = params.channels;
  for (var l = 0u; l < 4u; l++) {
    let j = j0 + l;
    if (j < m) {
      distances[plane + i * c + j] = d[l];
      distances[plane + j * c + i] = d[l];
      if (i < j) {
        count_digit(d[l]);
      }
    }
  }
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = params.pixels;
  let b = params.batch_offset + wid.z;
  let m = state[b].remaining;
  // Row and column blocks in units of vec4 (four channels).
  let r4 = wid.y * 2u;
  let c4 = (wid.x * ${WG}u + lid) * 2u;
  let i0 = r4 * 4u;
  let j0 = c4 * 4u;
  if (i0 >= m || j0 >= m || j0 + 7u < i0) {
    return;
  }
  let stride = params.padded / 4u;
  var row = b * n * stride;
  // acc_K_L: rows i0 + K (K < 4: first row vec4, else second), columns of column vec4 L.
  var acc00 = vec4<f32>(0.0); var acc01 = vec4<f32>(0.0);
  var acc10 = vec4<f32>(0.0); var acc11 = vec4<f32>(0.0);
  var acc20 = vec4<f32>(0.0); var acc21 = vec4<f32>(0.0);
  var acc30 = vec4<f32>(0.0); var acc31 = vec4<f32>(0.0);
  var acc40 = vec4<f32>(0.0); var acc41 = vec4<f32>(0.0);
  var acc50 = vec4<f32>(0.0); var acc51 = vec4<f32>(0.0);
  var acc60 = vec4<f32>(0.0); var acc61 = vec4<f32>(0.0);
  var acc70 = vec4<f32>(0.0); var acc71 = vec4<f32>(0.0);
  for (var p = 0u; p < n; p++) {
    let x = columns[row + r4];
    let z = columns[row + r4 + 1u];
    let u = columns[row + c4];
    let v = columns[row + c4 + 1u];
    row += stride;
    // Row value minus column value, squared, added: the reference's per-pixel step.
    var d = vec4<f32>(x.x) - u; acc00 += d * d;
    d = vec4<f32>(x.x) - v; acc01 += d * d;
    d = vec4<f32>(x.y) - u; acc10 += d * d;
    d = vec4<f32>(x.y) - v; acc11 += d * d;
    d = vec4<f32>(x.z) - u; acc20 += d * d;
    d = vec4<f32>(x.z) - v; acc21 += d * d;
    d = vec4<f32>(x.w) - u; acc30 += d * d;
    d = vec4<f32>(x.w) - v; acc31 += d * d;
    d = vec4<f32>(z.x) - u; acc40 += d * d;
    d = vec4<f32>(z.x) - v; acc41 += d * d;
    d = vec4<f32>(z.y) - u; acc50 += d * d;
    d = vec4<f32>(z.y) - v; acc51 += d * d;
    d = vec4<f32>(z.z) - u; acc60 += d * d;
    d = vec4<f32>(z.z) - v; acc61 += d * d;
    d = vec4<f32>(z.w) - u; acc70 += d * d;
    d = vec4<f32>(z.w) - v; acc71 += d * d;
  }

  let plane = wid.z * params.channels * params.channels;
  hist_base = wid.z * 2u * ${BINS}u;
  run_digit = NONE;
  run_count = 0u;
  emit(i0, j0, acc00, m, plane); emit(i0, j0 + 4u, acc01, m, plane);
  emit(i0 + 1u, j0, acc10, m, plane); emit(i0 + 1u, j0 + 4u, acc11, m, plane);
  emit(i0 + 2u, j0, acc20, m, plane); emit(i0 + 2u, j0 + 4u, acc21, m, plane);
  emit(i0 + 3u, j0, acc30, m, plane); emit(i0 + 3u, j0 + 4u, acc31, m, plane);
  emit(i0 + 4u, j0, acc40, m, plane); emit(i0 + 4u, j0 + 4u, acc41, m, plane);
  emit(i0 + 5u, j0, acc50, m, plane); emit(i0 + 5u, j0 + 4u, acc51, m, plane);
  emit(i0 + 6u, j0, acc60, m, plane); emit(i0 + 6u, j0 + 4u, acc61, m, plane);
  emit(i0 + 7u, j0, acc70, m, plane); emit(i0 + 7u, j0 + 4u, acc71, m, plane);
  if (run_count > 0u) {
    atomicAdd(&histogram[hist_base + run_digit], run_count);
  }
}
