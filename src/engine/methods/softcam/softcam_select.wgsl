// Soft-CAM: pick one class-evidence map per image. The evidence is [B, C, H, W] (C = classes);
// image b keeps channel class_index[b]: out[b, p] = evidence[b, class_index[b], p]. Values stay
// signed (the evidence for and against the class); the caller resizes and normalises them.
struct Params {
  channels: u32,
  pixels: u32,
  total: u32,
}

@group(0) @binding(0) var<storage, read> evidence: array<f32>;
@group(0) @binding(1) var<storage, read> class_index: array<u32>;
@group(0) @binding(2) var<storage, read_write> selected: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let b = i / params.pixels;
  let p = i % params.pixels;
  let c = min(class_index[b], params.channels - 1u);
  selected[i] = evidence[(b * params.channels + c) * params.pixels + p];
}
