// Bilinear resize of [B, inH, inW] to [B, outH, outW] with align_corners = false: the source
// coordinate of output pixel d is (d + 0.5) * in / out - 0.5, clamped at 0, and the second
// tap is clamped to the last row/column. This is PyTorch's F.interpolate(mode='bilinear')
// and OpenCV's cv2.resize(INTER_LINEAR) for float images.
struct Params {
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  scale_h: f32,
  scale_w: f32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let plane = params.out_h * params.out_w;
  let b = i / plane;
  let oy = (i % plane) / params.out_w;
  let ox = i % params.out_w;

  let sy = max((f32(oy) + 0.5) * params.scale_h - 0.5, 0.0);
  let sx = max((f32(ox) + 0.5) * params.scale_w - 0.5, 0.0);
  let y0 = min(u32(sy), params.in_h - 1u);
  let x0 = min(u32(sx), params.in_w - 1u);
  let y1 = min(y0 + 1u, params.in_h - 1u);
  let x1 = min(x0 + 1u, params.in_w - 1u);
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);

  let base = b * params.in_h * params.in_w;
  let top = (1.0 - lx) * src[base + y0 * params.in_w + x0] + lx * src[base + y0 * params.in_w + x1];
  let bottom = (1.0 - lx) * src[base + y1 * params.in_w + x0] + lx * src[base + y1 * params.in_w + x1];
  dst[i] = (1.0 - ly) * top + ly * bottom;
}
