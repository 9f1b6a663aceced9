// Euclidean distances between the remaining channels of each image:
// D[i, j] = sqrt(sum_p (A_i[p] - A_j[p])^2), i <= j < m, summed in pixel order (as the CPU
// reference does). One thread per pair: the threads of a workgroup share row i and take
// consecutive columns j, so for each pixel they read consecutive addresses of the pixel-major
// copy (gather_remaining.wgsl) and one shared value of A_i. Each pair is computed once and
// written to both halves, so D is exactly symmetric with a zero diagonal. No workgroup memory
// or barriers.
struct Params {
  channels: u32,
  pixels: u32,
  batch_offset: u32,
}

@group(0) @binding(0) var<storage, read> columns: array<f32>;  // [B, pixels, C], pixel-major
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> distances: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let n = params.pixels;
  let b = params.batch_offset + wid.z;
  let m = state[b].remaining;
  let i = wid.y;
  let j = wid.x * ${WG}u + lid;
  if (i >= m || j >= m || j < i) {
    return;
  }
  let image = b * n * c;
  var acc = 0.0;
  for (var p = 0u; p < n; p++) {
    let d = columns[image + p * c + i] - columns[image + p * c + j];
    acc += d * d;
  }
  let d = sqrt(acc);
  let plane = wid.z * c * c;
  distances[plane + i * c + j] = d;
  distances[plane + j * c + i] = d;
}
