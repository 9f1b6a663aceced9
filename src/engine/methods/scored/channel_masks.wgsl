// Score-CAM / ClusCAM channel masks of one image: channels [c0, c0 + n) of activations
// [B, C, h, w] upsampled bilinearly to H x W (Score-CAM: align_corners = true, as
// pytorch-grad-cam's nn.UpsamplingBilinear2d; ClusCAM: align_corners = false, the formula of
// bilinear_resize.wgsl) and min-max normalised per channel:
//   SCORECAM: (u - min) / ((max - min) + 1e-8)              (pytorch-grad-cam's ScoreCAM)
//   else:     (u - min) / (max - min), u itself when max == min   (ClusCAM's reference)
// Three entry points (one per compile) over the same `upsampled` function, so the masks reach
// exactly 0 and 1:
//   STATS:  one thread per channel finds the minimum and maximum of its upsampled values
//           (stats[2j] = min, stats[2j + 1] = max; no barriers). Within one cell of the source
//           grid the upsampled values are a bilinear function of the sample position, so their
//           extremes lie on the cell's first or last sample row and column: only those rows and
//           columns (listed by the host in `samples`) are evaluated, about 2h x 2w samples.
//   MASKED: x * mask for the model, [n, 3, H, W], one thread per mask value writing its three
//           colour channels (Score-CAM: the masks themselves are never stored).
//   else:   the masks [n, H, W], one thread per value (ClusCAM's K-Means points).
struct Params {
  // Flat index of element (b, c0, 0, 0) in the activations.
  src_base: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  scale_h: f32,
  scale_w: f32,
  // STATS: n; else n * out_h * out_w.
  total: u32,
  // STATS: how many sample rows and columns `samples` lists (rows first).
  sample_rows: u32,
  sample_cols: u32,
  // MASKED: flat index of image b's first value in the inputs [B, 3, H, W].
  input_base: u32,
  // 1: src = d * scale (align_corners = true, scale = (in - 1) / (out - 1)); 0: src = (d + 0.5) * scale - 0.5.
  align_corners: u32,
}

@group(0) @binding(0) var<storage, read> activations: array<f32>;
#if ${STATS}
@group(0) @binding(1) var<storage, read> samples: array<u32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
#elif ${MASKED}
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> inputs: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
#else
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> masks: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
#endif

// The upsampled value of channel j (relative to c0) at output pixel (oy, ox).
fn upsampled(j: u32, oy: u32, ox: u32) -> f32 {
  var sy = max((f32(oy) + 0.5) * params.scale_h - 0.5, 0.0);
  var sx = max((f32(ox) + 0.5) * params.scale_w - 0.5, 0.0);
  if (params.align_corners == 1u) {
    sy = f32(oy) * params.scale_h;
    sx = f32(ox) * params.scale_w;
  }
  let y0 = min(u32(sy), params.in_h - 1u);
  let x0 = min(u32(sx), params.in_w - 1u);
  let y1 = min(y0 + 1u, params.in_h - 1u);
  let x1 = min(x0 + 1u, params.in_w - 1u);
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);
  let base = params.src_base + j * params.in_h * params.in_w;
  // a + (b - a) * t, as the CPU reference: equal taps give exactly their value, so a constant
  // channel stays exactly constant (no rounding noise for the min-max scaling to blow up).
  let a = activations[base + y0 * params.in_w + x0];
  let b = activations[base + y0 * params.in_w + x1];
  let c = activations[base + y1 * params.in_w + x0];
  let d = activations[base + y1 * params.in_w + x1];
  let top = a + (b - a) * lx;
  let bottom = c + (d - c) * lx;
  return top + (bottom - top) * ly;
}

#if ${STATS}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let j = flat_index(wid, nwg, lid);
  if (j >= params.total) {
    return;
  }
  var lo = 3.402823e38;
  var hi = -3.402823e38;
  for (var r = 0u; r < params.sample_rows; r++) {
    let oy = samples[r];
    for (var c = 0u; c < params.sample_cols; c++) {
      let v = upsampled(j, oy, samples[params.sample_rows + c]);
      lo = min(lo, v);
      hi = max(hi, v);
    }
  }
  stats[2u * j] = lo;
  stats[2u * j + 1u] = hi;
}
#else
fn normalized(j: u32, u: f32) -> f32 {
  let lo = stats[2u * j];
  let hi = stats[2u * j + 1u];
#if ${SCORECAM}
  return (u - lo) / ((hi - lo) + 1e-8);
#else
  if (hi != lo) {
    return (u - lo) / (hi - lo);
  }
  return u;
#endif
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let plane = params.out_h * params.out_w;
  let j = i / plane;
  let p = i % plane;
  let m = normalized(j, upsampled(j, p / params.out_w, p % params.out_w));
#if ${MASKED}
  let o = 3u * j * plane + p;
  let x = params.input_base + p;
  out[o] = inputs[x] * m;
  out[o + plane] = inputs[x + plane] * m;
  out[o + 2u * plane] = inputs[x + 2u * plane] * m;
#else
  masks[i] = m;
#endif
}
#endif
