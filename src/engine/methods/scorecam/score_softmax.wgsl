// Score-CAM channel weights: w[b, k] = softmax over k of scores[b, k] (the class logits of the
// masked inputs). One thread per image walks its C scores three times (max, sum, weights):
// C is at most a few thousand, so no workgroup reduction (and no barrier) is needed.
struct Params {
  channels: u32,
  batch: u32,
}

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= params.batch) {
    return;
  }
  let base = b * params.channels;
  var high = -3.402823e38;
  for (var k = 0u; k < params.channels; k++) {
    high = max(high, scores[base + k]);
  }
  var total = 0.0;
  for (var k = 0u; k < params.channels; k++) {
    total += exp(scores[base + k] - high);
  }
  for (var k = 0u; k < params.channels; k++) {
    weights[base + k] = exp(scores[base + k] - high) / total;
  }
}
