// Colour a float map [H, W] into packed RGBA8 (one u32 per pixel: r | g << 8 | b << 16 | a << 24,
// i.e. bytes r, g, b, a), the GPU twin of colorize() in src/engine/colormaps.ts: same table
// lookup, opacity, threshold and contour, bit for bit. Every float step is one correctly rounded
// f32 multiplication or a comparison; the map is read as raw bits and sanitised with integer
// operations (NaN -> 0, +-inf -> +-f32 max) so no NaN or infinity enters float arithmetic.
//
// Entry points:
//   max_abs:  scale[0] = max over the map of the bits of |v| (after sanitising), by atomicMax;
//             for non-negative floats the u32 bit order is the float order. scale[0] must be 0.
//   main:     one invocation per pixel; writes dst[y * row_words + x].
struct Params {
  width: u32,
  height: u32,
  row_words: u32,
  table_offset: u32,
  alpha: u32,
  signed_map: u32,
  use_given_scale: u32,
  given_scale: f32,
  threshold: f32,
  contour: u32,
  contour_level: f32,
  contour_color: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> map_bits: array<u32>;
@group(0) @binding(1) var<storage, read> tables: array<u32>;
@group(0) @binding(2) var<storage, read_write> scale: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

const F32_MAX_BITS = 0x7f7fffffu;
const INF_BITS = 0x7f800000u;

/** Bits of the sanitised |value| of map entry i. */
fn abs_bits(i: u32) -> u32 {
  let a = map_bits[i] & 0x7fffffffu;
  if (a > INF_BITS) {
    return 0u;
  }
  return min(a, F32_MAX_BITS);
}

/** Map entry i with NaN read as 0 and infinities clamped to +-f32 max. */
fn value(i: u32) -> f32 {
  let b = map_bits[i];
  return bitcast<f32>((b & 0x80000000u) | abs_bits(i));
}

var<workgroup> wg_max: atomic<u32>;

@compute @workgroup_size(${WG})
fn max_abs(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (lid == 0u) {
    atomicStore(&wg_max, 0u);
  }
  workgroupBarrier();
  if (i < params.total) {
    atomicMax(&wg_max, abs_bits(i));
  }
  workgroupBarrier();
  if (lid == 0u) {
    atomicMax(&scale[0], atomicLoad(&wg_max));
  }
}

/** Table level of a signed value v when max |value| is m > 0: largest k in 0..127 with
    |v| >= m * k/128, then 128 + k for v >= 0, 127 - k for v < 0. */
fn signed_level(v: f32, m: f32) -> u32 {
  let a = abs(v);
  var lo = 0u;
  var hi = 127u;
  loop {
    if (lo >= hi) {
      break;
    }
    let mid = (lo + hi + 1u) / 2u;
    if (a >= m * (f32(mid) * 0.0078125)) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  if (v < 0.0) {
    return 127u - lo;
  }
  return 128u + lo;
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let w = params.width;
  let y = i / w;
  let x = i % w;
  let v = value(i);
  let signed_map = params.signed_map != 0u;
  var m = 0.0;
  if (signed_map) {
    if (params.use_given_scale != 0u) {
      m = params.given_scale;
    } else {
      m = bitcast<f32>(atomicLoad(&scale[0]));
    }
  }
  let t = params.threshold;

  var hidden: bool;
  if (signed_map) {
    hidden = (m == 0.0 && t > 0.0) || abs(v) < t * m;
  } else {
    hidden = clamp(v, 0.0, 1.0) < t;
  }
  var pixel = 0u;
  if (!hidden) {
    var level: u32;
    if (signed_map) {
      if (m == 0.0) {
        level = 128u;
      } else {
        level = signed_level(v, m);
      }
    } else {
      level = min(u32(floor(255.0 * clamp(v, 0.0, 1.0))), 255u);
    }
    pixel = tables[params.table_offset + level] | (params.alpha << 24u);
  }

  if (params.contour != 0u) {
    var level = params.contour_level;
    if (signed_map) {
      level = params.contour_level * m;
    }
    if (v >= level) {
      var edge = false;
      if (x > 0u && value(i - 1u) < level) {
        edge = true;
      }
      if (x + 1u < w && value(i + 1u) < level) {
        edge = true;
      }
      if (y > 0u && value(i - w) < level) {
        edge = true;
      }
      if (y + 1u < params.height && value(i + w) < level) {
        edge = true;
      }
      if (edge) {
        pixel = params.contour_color;
      }
    }
  }
  dst[y * params.row_words + x] = pixel;
}
