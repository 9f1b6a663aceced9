// CF-CAM channel weights and their softmax, one workgroup per image:
//   important (-2): w = mean(G_k); cluster j: w = the cluster's filtered weight; noise: dropped.
//   alpha = softmax(w) over the kept channels, 0 for dropped ones (so the weighted sum can run
//   over all channels). Also keeps the pre-softmax weights (0 when dropped) for inspection.
struct Params {
  channels: u32,
  pixels: u32,
}

@group(0) @binding(0) var<storage, read> gradients: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> cluster_weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> raw_weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> alpha: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;


@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let n = params.pixels;
  let base = wid.x * c;

  var high = -3.402823e38;
  for (var k = lid; k < c; k += ${WG}u) {
    let label = labels[base + k];
    var w = 0.0;
    if (label == -2) {
      var sum = 0.0;
      for (var p = 0u; p < n; p++) {
        sum += gradients[(base + k) * n + p];
      }
      w = sum / f32(n);
      high = max(high, w);
    } else if (label >= 0) {
      w = cluster_weight[base + u32(label)];
      high = max(high, w);
    }
    raw_weights[base + k] = w;
  }
  high = reduce_max(lid, high);
  storageBarrier();

  var total = 0.0;
  for (var k = lid; k < c; k += ${WG}u) {
    if (labels[base + k] != -1) {
      total += exp(raw_weights[base + k] - high);
    }
  }
  total = reduce_sum(lid, total);

  for (var k = lid; k < c; k += ${WG}u) {
    var a = 0.0;
    if (labels[base + k] != -1) {
      a = exp(raw_weights[base + k] - high) / total;
    }
    alpha[base + k] = a;
  }
}
