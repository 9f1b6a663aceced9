// Euclidean distances between the remaining channels of each image:
// D[i, j] = sqrt(sum_p (A_i[p] - A_j[p])^2), i, j < m, summed in pixel order (as the CPU
// reference does). Thread (row i, segment of ${SPAN} columns j > i) computes its pairs together,
// loading A_i[p] once for all of them; each pair is computed once and written to both halves,
// so D is exactly symmetric with a zero diagonal. No workgroup memory or barriers: rows are
// short (H*W values) and stay in cache, and barrier-free kernels also run well on CPU WebGPU.
struct Params {
  channels: u32,
  pixels: u32,
  batch_offset: u32,
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read> remaining_index: array<u32>;
@group(0) @binding(2) var<storage, read> state: array<ImageState>;
@group(0) @binding(3) var<storage, read_write> distances: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let n = params.pixels;
  let b = params.batch_offset + wid.z;
  let m = state[b].remaining;
  let i = wid.y;
  let j0 = (wid.x * ${WG}u + lid) * ${SPAN}u;
  let j_start = max(j0, i);
  let j_end = min(j0 + ${SPAN}u, m);
  if (i >= m || j_start >= j_end) {
    return;
  }
  let count = j_end - j_start;
  var rows: array<u32, ${SPAN}>;
  for (var t = 0u; t < count; t++) {
    rows[t] = (b * c + remaining_index[b * c + j_start + t]) * n;
  }
  let row_i = (b * c + remaining_index[b * c + i]) * n;
  var acc: array<f32, ${SPAN}>;
  for (var p = 0u; p < n; p++) {
    let a = activations[row_i + p];
    for (var t = 0u; t < count; t++) {
      let d = a - activations[rows[t] + p];
      acc[t] += d * d;
    }
  }
  let plane = wid.z * c * c;
  for (var t = 0u; t < count; t++) {
    let j = j_start + t;
    let d = sqrt(acc[t]);
    distances[plane + i * c + j] = d;
    distances[plane + j * c + i] = d;
  }
}
