// Perturbed copies of one model input for the faithfulness metrics. For copy j and pixel p
// (broadcast over the three colour channels):
//   mode 0 (keep above): out = key[p] > t[j] ? x : base
//   mode 1 (keep below): out = key[p] < t[j] ? x : base
//   mode 2 (soft):       out = base + key[p] * (x - base)       (t unused)
// Deletion and insertion use the pixel ranks as keys and the step counts as thresholds;
// Average Drop / Increase use the map itself. The binary modes select (no arithmetic), so a
// kept pixel is bit-identical to the input.
struct Params {
  // H * W.
  plane: u32,
  // count * H * W.
  total: u32,
  mode: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> base: array<f32>;
@group(0) @binding(2) var<storage, read> key: array<f32>;
@group(0) @binding(3) var<storage, read> thresholds: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * ${WG}u + lid;
  if (i >= params.total) {
    return;
  }
  let plane = params.plane;
  let j = i / plane;
  let p = i % plane;
  let k = key[p];
  let o = 3u * j * plane + p;
  for (var c = 0u; c < 3u; c++) {
    let xv = x[c * plane + p];
    let bv = base[c * plane + p];
    var v: f32;
    if (params.mode == 0u) {
      v = select(bv, xv, k > thresholds[j]);
    } else if (params.mode == 1u) {
      v = select(bv, xv, k < thresholds[j]);
    } else {
      v = bv + k * (xv - bv);
    }
    out[o + c * plane] = v;
  }
}
