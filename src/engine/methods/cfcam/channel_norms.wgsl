// n[b, k] = ||A[b, k, :]||_2, summed in pixel order (the CPU reference sums the same way).
struct Params {
  channels: u32,
  pixels: u32,
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read_write> norms: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x * ${WG}u + lid;
  if (k >= params.channels) {
    return;
  }
  let row = (wid.z * params.channels + k) * params.pixels;
  var sum = 0.0;
  for (var p = 0u; p < params.pixels; p++) {
    let v = activations[row + p];
    sum += v * v;
  }
  norms[wid.z * params.channels + k] = sqrt(sum);
}
