// Per-channel weights of the gradient CAM family, one workgroup per (image, channel):
// the workgroup strides over the channel's H*W pixels (consecutive threads read consecutive
// pixels) and reduces partial sums in workgroup memory.
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

var<workgroup> part_a: array<f32, ${WG}>;
var<workgroup> part_b: array<f32, ${WG}>;

// Tree-reduce part_a and part_b; afterwards part_a[0] and part_b[0] hold the sums.
// Every thread of the workgroup must call it (it contains barriers).
fn reduce_pair(lid: u32, a: f32, b: f32) {
  part_a[lid] = a;
  part_b[lid] = b;
  workgroupBarrier();
  for (var stride = ${WG}u / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      part_a[lid] += part_a[lid + stride];
      part_b[lid] += part_b[lid + stride];
    }
    workgroupBarrier();
  }
}

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
  reduce_pair(lid, sum_g, 0.0);
  if (lid == 0u) {
    weights[channel] = part_a[0] / f32(n);
  }
#endif

#if ${GRADCAMPP}
  var sum_act = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    sum_act += activations[base + p];
  }
  reduce_pair(lid, sum_act, 0.0);
  let s = part_a[0];
  // Everyone has read the total before part_a is reused below.
  workgroupBarrier();
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
  reduce_pair(lid, sum_w, 0.0);
  if (lid == 0u) {
    weights[channel] = part_a[0];
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
  reduce_pair(lid, sum_ga, sum_act);
  if (lid == 0u) {
    weights[channel] = part_a[0] / (part_b[0] + 1e-7);
  }
#endif
}
