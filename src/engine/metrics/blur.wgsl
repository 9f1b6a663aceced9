// One axis of a separable Gaussian blur of a [3, H, W] image with zero padding outside the
// image (the RISE insertion baseline: a normalised kernel of 2r+1 taps). Run twice: axis 0
// blurs along x, axis 1 along y. One thread per output value.
struct Params {
  height: u32,
  width: u32,
  axis: u32,
  radius: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * ${WG}u + lid;
  let h = params.height;
  let w = params.width;
  if (i >= 3u * h * w) {
    return;
  }
  let plane = h * w;
  let c = i / plane;
  let y = i32((i % plane) / w);
  let x = i32(i % w);
  let r = i32(params.radius);
  var acc = 0.0;
  for (var t = -r; t <= r; t++) {
    var sx = x;
    var sy = y;
    if (params.axis == 0u) {
      sx = x + t;
    } else {
      sy = y + t;
    }
    if (sx >= 0 && sx < i32(w) && sy >= 0 && sy < i32(h)) {
      acc += taps[u32(t + r)] * src[c * plane + u32(sy) * w + u32(sx)];
    }
  }
  dst[i] = acc;
}
