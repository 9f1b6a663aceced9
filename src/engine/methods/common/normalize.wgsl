// Per-image normalisation in place, from the (min, max) pairs of image_stats.wgsl.
//   MINMAX: (v - min) / ((max - min) + 1e-7)       (pytorch-grad-cam's scale_cam_image)
//   else:   v / max when max > 0, unchanged otherwise (CF-CAM's reference)
struct Params {
  n: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read_write> values: array<f32>;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let b = i / params.n;
  let lo = stats[2u * b];
  let hi = stats[2u * b + 1u];
#if ${MINMAX}
  values[i] = (values[i] - lo) / ((hi - lo) + 1e-7);
#else
  if (hi > 0.0) {
    values[i] = values[i] / hi;
  }
#endif
}
