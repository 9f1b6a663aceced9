// Filters each cluster's mean gradient map g (H x W) and reduces it to the cluster's weight
// mean(filtered g). One workgroup per (cluster slot, image); slots past the cluster count exit.
//
// REFERENCE: the CF-CAM code's "bilateral" filter, one data-dependent kernel for the map:
//   S(x,y) = exp(-((x - H/2)^2 + (y - W/2)^2) / (2 * 5^2)), R = exp(-(g - mean g)^2 / (2 * 0.1^2)),
//   K = S R / (sum(S R) + 1e-6), filtered = conv2d(g, K, padding='same') (cross-correlation,
//   zero padding, PyTorch's 'same': floor((k-1)/2) before, the rest after).
// else (BILATERAL): a per-pixel bilateral filter with cv2.bilateralFilter's float semantics:
//   circular window of radius r, space weight exp(-(i^2+j^2) / (2 ss^2)), colour weight from
//   OpenCV's 4096-bin table over the map's range, linearly interpolated (table entries are
//   computed here on the fly), border reflect-101; a map flatter than FLT_EPSILON is unchanged.
struct Params {
  channels: u32,
  height: u32,
  width: u32,
  radius: i32,
  sigma_color: f32,
  sigma_space: f32,
}

@group(0) @binding(0) var<storage, read> cluster_gradient: array<f32>;  // [B, C, HW]
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read_write> scratch: array<f32>;      // [B, C, HW]
@group(0) @binding(3) var<storage, read_write> cluster_weight: array<f32>;  // [B, C]
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> shared_clusters: u32;

// OpenCV's borderInterpolate for BORDER_REFLECT_101.
fn reflect101(index: i32, len: i32) -> i32 {
  if (len == 1) {
    return 0;
  }
  var p = index;
  loop {
    if (p >= 0 && p < len) {
      return p;
    }
    if (p < 0) {
      p = -p;
    } else {
      p = 2 * len - 2 - p;
    }
  }
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let h = params.height;
  let w = params.width;
  let n = h * w;
  let b = wid.z;
  let cluster = wid.x;
  if (lid == 0u) {
    shared_clusters = state[b].clusters;
  }
  if (cluster >= workgroupUniformLoad(&shared_clusters)) {
    return;
  }
  let g = (b * c + cluster) * n;

#if ${REFERENCE}
  var local = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    local += cluster_gradient[g + p];
  }
  let mean = reduce_sum(lid, local) / f32(n);

  let cy = f32(h) / 2.0;
  let cx = f32(w) / 2.0;
  local = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    let dy = f32(p / w) - cy;
    let dx = f32(p % w) - cx;
    let spatial = exp(-(dy * dy + dx * dx) / 50.0);
    let diff = cluster_gradient[g + p] - mean;
    let range = exp(-(diff * diff) / 0.02);
    scratch[g + p] = spatial * range;
    local += spatial * range;
  }
  let norm = reduce_sum(lid, local) + 1e-6;
  storageBarrier();
  for (var p = lid; p < n; p += ${WG}u) {
    scratch[g + p] = scratch[g + p] / norm;
  }
  storageBarrier();

  let pad_y = i32((h - 1u) / 2u);
  let pad_x = i32((w - 1u) / 2u);
  local = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    let y = i32(p / w);
    let x = i32(p % w);
    var acc = 0.0;
    for (var u = 0; u < i32(h); u++) {
      let sy = y + u - pad_y;
      if (sy < 0 || sy >= i32(h)) {
        continue;
      }
      for (var v = 0; v < i32(w); v++) {
        let sx = x + v - pad_x;
        if (sx >= 0 && sx < i32(w)) {
          acc += scratch[g + u32(u) * w + u32(v)] * cluster_gradient[g + u32(sy) * w + u32(sx)];
        }
      }
    }
    local += acc;
  }
  let filtered_mean = reduce_sum(lid, local) / f32(n);
#else
  var low = 3.402823e38;
  var high = -3.402823e38;
  var total = 0.0;
  for (var p = lid; p < n; p += ${WG}u) {
    let v = cluster_gradient[g + p];
    low = min(low, v);
    high = max(high, v);
    total += v;
  }
  low = reduce_min(lid, low);
  high = reduce_max(lid, high);
  total = reduce_sum(lid, total);
  var filtered_mean = total / f32(n);
  if (abs(high - low) >= 1.1920929e-7) {
    let scale_index = 4096.0 / (high - low);
    let color_coeff = -0.5 / (params.sigma_color * params.sigma_color);
    let space_coeff = -0.5 / (params.sigma_space * params.sigma_space);
    let r = params.radius;
    var local = 0.0;
    for (var p = lid; p < n; p += ${WG}u) {
      let y = i32(p / w);
      let x = i32(p % w);
      let center = cluster_gradient[g + p];
      var sum = 0.0;
      var wsum = 0.0;
      for (var i = -r; i <= r; i++) {
        for (var j = -r; j <= r; j++) {
          let dist2 = f32(i * i + j * j);
          if (dist2 > f32(r * r)) {
            continue;
          }
          let val = cluster_gradient[g + u32(reflect101(y + i, i32(h))) * w + u32(reflect101(x + j, i32(w)))];
          let alpha = abs(val - center) * scale_index;
          let idx = floor(alpha);
          let t0 = idx / scale_index;
          let t1 = (idx + 1.0) / scale_index;
          let e0 = exp(t0 * t0 * color_coeff);
          let e1 = exp(t1 * t1 * color_coeff);
          let weight = exp(dist2 * space_coeff) * (e0 + (alpha - idx) * (e1 - e0));
          sum += val * weight;
          wsum += weight;
        }
      }
      local += sum / wsum;
    }
    filtered_mean = reduce_sum(lid, local) / f32(n);
  }
#endif
  if (lid == 0u) {
    cluster_weight[b * c + cluster] = filtered_mean;
  }
}
