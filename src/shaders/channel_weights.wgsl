// Per-channel weights of the gradient CAM family, one workgroup per (image, channel):
// the workgroup strides over the channel's H*W pixels (consecutive threads read consecutive
// pixels) and reduces partial sums with the shared workgroup reductions (lib/reduce.wgsl).
//   GRADCAM:   w = mean(g)
//   GRADCAMPP: s = sum(A); a = g^2 / (2 g^2 + s g^3 + 1e-6), a = 0 where g == 0;
//              w = sum(ReLU(g) a)                        (needs s first: two reductions)
//   XGRADCAM:  w = sum(g A) / (sum(A) + 1e-7)            (two sums reduced together)
// Formulas and epsilons follow pytorch-grad-cam, which the golden maps come from.
struct Params {
  pixels: u32,
  // batch * channels: workgroups past it (grid padding) do nothing.
  total: u32,
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read> gradients: array<f32>;
@group(0) @binding(2) var<storage, read_write> weights: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;


@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // The channel index is uniform over the workgroup, so padding workgroups can leave before
  // any barrier without breaking uniformity.
  let channel = wid.x + wid.y * nwg.x;
  if (channel >= params.total) {
    return;
  }
  let n = params.pixels;
  let base = channel * n;

#if ${GRADCAM}
  var sum_g = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    sum_g += gradients[base + p];
  }
  let total_g = reduce_sum(lid, sum_g);
  if (lid == 0u) {
    weights[channel] = total_g / f32(n);
  }
#endif

#if ${GRADCAMPP}
  var sum_act = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    sum_act += activations[base + p];
  }
  let s = reduce_sum(lid, sum_act);
  var sum_w = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    let g = gradients[base + p];
    if (g != 0.0) {
      let g2 = g * g;
      let g3 = g2 * g;
      let alpha = g2 / (2.0 * g2 + s * g3 + 1e-6);
      sum_w += max(g, 0.0) * alpha;
    }
  }
  let total_w = reduce_sum(lid, sum_w);
  if (lid == 0u) {
    weights[channel] = total_w;
  }
#endif

#if ${XGRADCAM}
  var sum_ga = 0.0;
  var sum_act = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    let a = activations[base + p];
    sum_ga += gradients[base + p] * a;
    sum_act += a;
  }
  let total_ga = reduce_sum(lid, sum_ga);
  let total_act = reduce_sum(lid, sum_act);
  if (lid == 0u) {
    weights[channel] = total_ga / (total_act + 1e-7);
  }
#endif
}
