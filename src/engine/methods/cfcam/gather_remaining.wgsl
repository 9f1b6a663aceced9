// Copies each image's remaining channels into pixel-major order: columns[b, p, r] =
// A[b, remaining_index[r], p] for r < m, row stride `padded` (C rounded up to a multiple of 8,
// so the distance kernel reads four channels as one vec4). The distance kernel then reads, for
// a fixed pixel, consecutive channels at consecutive addresses. Entries at r >= m are never
// used for a pair that is kept.
struct Params {
  channels: u32,
  pixels: u32,
  padded: u32,
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read> remaining_index: array<u32>;
@group(0) @binding(2) var<storage, read> state: array<ImageState>;
@group(0) @binding(3) var<storage, read_write> columns: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let n = params.pixels;
  let b = wid.z;
  let r = wid.x * ${WG}u + lid;
  let p = wid.y;
  if (r >= state[b].remaining) {
    return;
  }
  columns[(b * n + p) * params.padded + r] = activations[(b * c + remaining_index[b * c + r]) * n + p];
}
