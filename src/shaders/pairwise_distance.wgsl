// Euclidean distances between the remaining channels of each image:
// D[i, j] = sqrt(sum_p (A_i[p] - A_j[p])^2), i, j < m, summed in pixel order.
// 16 x 16 tiles of channel pairs; pixels stream through workgroup memory 16 at a time.
// Only tiles touching the upper triangle run; each pair is computed once and written to both
// halves, so D is exactly symmetric with a zero diagonal.
struct Params {
  channels: u32,
  pixels: u32,
  batch_offset: u32,
}

const T: u32 = 16u;

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read> remaining_index: array<u32>;
@group(0) @binding(2) var<storage, read> state: array<ImageState>;
@group(0) @binding(3) var<storage, read_write> distances: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> rows_i: array<f32, 256>;
var<workgroup> rows_j: array<f32, 256>;
var<workgroup> shared_m: u32;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = params.channels;
  let n = params.pixels;
  let b = params.batch_offset + wid.z;
  if (lid.x == 0u && lid.y == 0u) {
    shared_m = state[b].remaining;
  }
  let m = workgroupUniformLoad(&shared_m);
  let i0 = wid.y * T;
  let j0 = wid.x * T;
  if (i0 >= m || j0 >= m || j0 + T <= i0) {
    return;
  }

  // Thread (y, x) loads pixel x of the y-th channel of each tile.
  let load_i = i0 + lid.y < m;
  let load_j = j0 + lid.y < m;
  var ci = 0u;
  var cj = 0u;
  if (load_i) {
    ci = remaining_index[b * c + i0 + lid.y];
  }
  if (load_j) {
    cj = remaining_index[b * c + j0 + lid.y];
  }
  let row_i = (b * c + ci) * n;
  let row_j = (b * c + cj) * n;

  var acc = 0.0;
  for (var p0 = 0u; p0 < n; p0 += T) {
    let p = p0 + lid.x;
    rows_i[lid.y * T + lid.x] = select(0.0, activations[row_i + min(p, n - 1u)], load_i && p < n);
    rows_j[lid.y * T + lid.x] = select(0.0, activations[row_j + min(p, n - 1u)], load_j && p < n);
    workgroupBarrier();
    let len = min(T, n - p0);
    for (var t = 0u; t < len; t++) {
      let d = rows_i[lid.y * T + t] - rows_j[lid.x * T + t];
      acc += d * d;
    }
    workgroupBarrier();
  }

  let i = i0 + lid.y;
  let j = j0 + lid.x;
  if (i < m && j < m && i <= j) {
    let d = sqrt(acc);
    let plane = wid.z * c * c;
    distances[plane + i * c + j] = d;
    distances[plane + j * c + i] = d;
  }
}
