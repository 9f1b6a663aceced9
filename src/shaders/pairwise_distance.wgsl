// Euclidean distances between the remaining channels of each image, register-tiled:
// D[i, j] = sqrt(sum_p (A_i[p] - A_j[p])^2), summed pixel by pixel in order (exactly as the CPU
// reference and the golden cases: each pair's float32 sum sees the same additions in the same
// order as a plain loop, whatever the tiling).
//
// A workgroup of 16 x 16 invocations owns a ${TILE} x ${TILE} block of pairs (rows i of block
// wid.y, columns j of block wid.x), only blocks with wid.x >= wid.y: the matrix is symmetric.
// Invocation (tx, ty) keeps 4 x 4 pairs in four vec4 accumulators: rows ty + 16k, columns
// tx + 16l. The block's rows and columns are staged ${PIXELS} pixels at a time in workgroup
// memory, pixel-major (one vec4 of four rows per invocation and pixel), so each pixel costs an
// invocation two workgroup loads for sixteen pairs instead of two global loads per pair.
//
// Fused here, to save a pass over the C x C matrix: the first digit of the eps radix select
// (radix_select.wgsl). Every upper-triangle pair (i < j < m) adds its top ${FIRST_BITS} float
// bits to histogram[chunk image, 0, digit] (both sought ranks start from the same empty
// prefix, so one histogram serves both); runs of equal digits cost one atomic.
struct Params {
  channels: u32,
  pixels: u32,
  batch_offset: u32,
}

@group(0) @binding(0) var<storage, read> columns: array<f32>;  // [B, pixels, C], pixel-major
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> distances: array<f32>;  // [chunk, C, C]
@group(0) @binding(3) var<storage, read_write> histogram: array<atomic<u32>>;  // [chunk, 2, ${BINS}]
@group(0) @binding(4) var<uniform> params: Params;

// tile_rows[p * 16 + t] = rows (t, t + 16, t + 32, t + 48) of the block at pixel p; same for columns.
var<workgroup> tile_rows: array<vec4<f32>, ${PIXELS} * 16>;
var<workgroup> tile_cols: array<vec4<f32>, ${PIXELS} * 16>;

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

// Load four channels (base + t + 16l) of one pixel row, zero outside [0, m) x [0, pixels).
fn load4(row: u32, base: u32, m: u32, inside: bool) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (inside) {
    for (var l = 0u; l < 4u; l++) {
      let r = base + 16u * l;
      if (r < m) {
        v[l] = columns[row + r];
      }
    }
  }
  return v;
}

// Writes one row of an invocation's pairs (row i, columns j0 + 16l) and counts its digits.
fn emit(i: u32, j0: u32, sums: vec4<f32>, m: u32, plane: u32, mirror: bool) {
  if (i >= m) {
    return;
  }
  let d = sqrt(sums);
  let c = params.channels;
  for (var l = 0u; l < 4u; l++) {
    let j = j0 + 16u * l;
    if (j < m) {
      distances[plane + i * c + j] = d[l];
      if (mirror) {
        distances[plane + j * c + i] = d[l];
      }
      if (i < j) {
        count_digit(d[l]);
      }
    }
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let n = params.pixels;
  let b = params.batch_offset + wid.z;
  let m = state[b].remaining;
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  // Whole workgroups leave together (uniform: workgroup ids and a read-only value).
  if (wid.x < wid.y || row0 >= m) {
    return;
  }
  let tx = lid3.x;
  let ty = lid3.y;
  let image = b * n * c;
  // Staging: invocation lid loads pixel lid / 16 of rows (and columns) lid % 16 + 16l.
  let load_p = lid / 16u;
  let load_t = lid % 16u;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var p0 = 0u; p0 < n; p0 += ${PIXELS}u) {
    let count = min(${PIXELS}u, n - p0);
    let p = p0 + load_p;
    let inside = load_p < count;
    let row = image + p * c;
    tile_rows[lid] = load4(row, row0 + load_t, m, inside);
    tile_cols[lid] = load4(row, col0 + load_t, m, inside);
    workgroupBarrier();
    for (var q = 0u; q < count; q++) {
      let a = tile_rows[q * 16u + ty];
      let v = tile_cols[q * 16u + tx];
      let d0 = vec4<f32>(a.x) - v;
      let d1 = vec4<f32>(a.y) - v;
      let d2 = vec4<f32>(a.z) - v;
      let d3 = vec4<f32>(a.w) - v;
      acc0 += d0 * d0;
      acc1 += d1 * d1;
      acc2 += d2 * d2;
      acc3 += d3 * d3;
    }
    workgroupBarrier();
  }

  let plane = wid.z * c * c;
  let mirror = wid.x != wid.y;
  hist_base = wid.z * 2u * ${BINS}u;
  run_digit = NONE;
  run_count = 0u;
  let i0 = row0 + ty;
  let j0 = col0 + tx;
  emit(i0, j0, acc0, m, plane, mirror);
  emit(i0 + 16u, j0, acc1, m, plane, mirror);
  emit(i0 + 32u, j0, acc2, m, plane, mirror);
  emit(i0 + 48u, j0, acc3, m, plane, mirror);
  if (run_count > 0u) {
    atomicAdd(&histogram[hist_base + run_digit], run_count);
  }
}
