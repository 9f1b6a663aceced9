// Pixel-wise gradient CAMs: map[b, p] = ReLU(sum_k f(g[b,k,p]) * A[b,k,p]) with
//   LAYERCAM: f(g) = ReLU(g)      (LayerCAM)
//   else:     f(g) = g            (HiResCAM)
// The outer ReLU is the first step of the family's common post-processing, done here so the
// map goes straight to normalisation. One thread per (b, p); consecutive threads read
// consecutive pixels of each channel.
struct Params {
  channels: u32,
  pixels: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read> gradients: array<f32>;
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
  let base = b * params.channels * params.pixels + p;
  var sum = 0.0;
  for (var k = 0u; k < params.channels; k++) {
    let at = base + k * params.pixels;
#if ${LAYERCAM}
    sum += max(gradients[at], 0.0) * activations[at];
#else
    sum += gradients[at] * activations[at];
#endif
  }
  map[i] = max(sum, 0.0);
}
