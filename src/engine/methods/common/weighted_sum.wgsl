// map[b, p] = ReLU(sum_k weights[b, k] * activations[b, k, p]) for every image b and pixel p.
// One thread per (b, p); consecutive threads read consecutive pixels of each channel.
struct Params {
  channels: u32,
  pixels: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> map: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let b = i / params.pixels;
  let p = i % params.pixels;
  let a_base = b * params.channels * params.pixels + p;
  let w_base = b * params.channels;
  var sum = 0.0;
  for (var k = 0u; k < params.channels; k++) {
    sum += weights[w_base + k] * activations[a_base + k * params.pixels];
  }
  map[i] = max(sum, 0.0);
}
