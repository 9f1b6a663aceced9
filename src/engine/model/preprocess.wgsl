// Classifier pre-processing: RGBA8 pixels (one packed u32 per pixel, little-endian RGBA, rows of
// `in_stride` words) -> bilinear resize, align_corners = false, no antialiasing (torchvision
// Resize(antialias=False) on a float tensor / F.interpolate bilinear), optionally a crop of a
// virtual resized image -> (v / 255 - mean) / std -> float32 NCHW planes R, G, B at `dst_base`.
//
// Source coordinates use exact integers: along an axis, output index d (plus the crop offset)
// samples src = ((2 * (d + offset) + 1) * in - resized) / (2 * resized), clamped at 0; the
// first tap is its integer part, the second clamped to the last row/column. Only the
// fraction is rounded (once) to f32, so the result equals the float64 CPU twin within ~1e-6.
struct Params {
  in_h: u32,
  in_w: u32,
  in_stride: u32,
  out_h: u32,
  out_w: u32,
  resized_h: u32,
  resized_w: u32,
  off_y: u32,
  off_x: u32,
  dst_base: u32,
  mean_r: f32,
  mean_g: f32,
  mean_b: f32,
  std_r: f32,
  std_g: f32,
  std_b: f32,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

struct Taps {
  i0: u32,
  i1: u32,
  frac: f32,
}

fn taps(d: u32, offset: u32, in_size: u32, resized: u32) -> Taps {
  let den = 2u * resized;
  let a = (2u * (d + offset) + 1u) * in_size;
  let num = select(0u, a - resized, a > resized);
  let i0 = min(num / den, in_size - 1u);
  return Taps(i0, min(i0 + 1u, in_size - 1u), f32(num - i0 * den) / f32(den));
}

fn texel(y: u32, x: u32) -> vec3f {
  let p = src[y * params.in_stride + x];
  return vec3f(f32(p & 0xffu), f32((p >> 8u) & 0xffu), f32((p >> 16u) & 0xffu));
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  let plane = params.out_h * params.out_w;
  if (i >= plane) {
    return;
  }
  let oy = i / params.out_w;
  let ox = i % params.out_w;
  let r = taps(oy, params.off_y, params.in_h, params.resized_h);
  let c = taps(ox, params.off_x, params.in_w, params.resized_w);

  let p00 = texel(r.i0, c.i0);
  let p01 = texel(r.i0, c.i1);
  let p10 = texel(r.i1, c.i0);
  let p11 = texel(r.i1, c.i1);
  let top = p00 + (p01 - p00) * c.frac;
  let bottom = p10 + (p11 - p10) * c.frac;
  let v = top + (bottom - top) * r.frac;

  let base = params.dst_base + i;
  dst[base] = (v.x / 255.0 - params.mean_r) / params.std_r;
  dst[base + plane] = (v.y / 255.0 - params.mean_g) / params.std_g;
  dst[base + 2u * plane] = (v.z / 255.0 - params.mean_b) / params.std_b;
}
