// Per-channel weights of the gradient CAM family, one thread per (image, channel), summing the
// channel's H*W pixels in order (no workgroup reductions or barriers: layer maps are small, and
// B*C threads fill the device):
//   GRADCAM:   w = mean(g)
//   GRADCAMPP: s = sum(A); a = g^2 / (2 g^2 + s g^3 + 1e-6), a = 0 where g == 0;
//              w = sum(ReLU(g) a)                        (needs s first: two passes)
//   XGRADCAM:  w = sum(g A) / (sum(A) + 1e-7)
// Formulas and epsilons follow pytorch-grad-cam, which the golden maps come from.
struct Params {
  pixels: u32,
  total: u32,  // batch * channels
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read> gradients: array<f32>;
@group(0) @binding(2) var<storage, read_write> weights: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let channel = flat_index(wid, nwg, lid);
  if (channel >= params.total) {
    return;
  }
  let n = params.pixels;
  let base = channel * n;

#if ${GRADCAM}
  var sum_g = 0.0;
  for (var p = 0u; p < n; p++) {
    sum_g += gradients[base + p];
  }
  weights[channel] = sum_g / f32(n);
#endif

#if ${GRADCAMPP}
  var s = 0.0;
  for (var p = 0u; p < n; p++) {
    s += activations[base + p];
  }
  var sum_w = 0.0;
  for (var p = 0u; p < n; p++) {
    let g = gradients[base + p];
    if (g != 0.0) {
      let g2 = g * g;
      let g3 = g2 * g;
      sum_w += max(g, 0.0) * (g2 / (2.0 * g2 + s * g3 + 1e-6));
    }
  }
  weights[channel] = sum_w;
#endif

#if ${XGRADCAM}
  var sum_ga = 0.0;
  var sum_act = 0.0;
  for (var p = 0u; p < n; p++) {
    let a = activations[base + p];
    sum_ga += gradients[base + p] * a;
    sum_act += a;
  }
  weights[channel] = sum_ga / (sum_act + 1e-7);
#endif
}
