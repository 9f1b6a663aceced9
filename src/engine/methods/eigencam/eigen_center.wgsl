// Eigen-CAM, step 1: centre every channel over its H*W positions,
//   centred[b, k, p] = A[b, k, p] - mean_p A[b, k, p],
// i.e. subtract its column mean from X = A reshaped to (HW x C). Centring before the Gram
// matrix (rather than subtracting mean outer products from it afterwards) avoids float32
// cancellation when the means are large.
// One invocation per (image, channel), summing its pixels in order: no workgroup barriers,
// which cost far more than the arithmetic on a software GPU (SwiftShader) when there are
// thousands of channels of a few dozen pixels each.
struct Params {
  pixels: u32,
  // batch * channels: invocations past it (grid padding) do nothing.
  total: u32,
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
@group(0) @binding(1) var<storage, read_write> centred: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;


@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let channel = flat_index(wid, nwg, lid);
  if (channel >= params.total) {
    return;
  }
  let n = params.pixels;
  let base = channel * n;
  var sum = 0.0;
  for (var p = 0u; p < n; p++) {
    sum += activations[base + p];
  }
  let mean = sum / f32(n);
  for (var p = 0u; p < n; p++) {
    centred[base + p] = activations[base + p] - mean;
  }
}
