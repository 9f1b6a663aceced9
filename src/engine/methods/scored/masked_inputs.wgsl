// Masked copies of one model input: out[j, ch, y, x] = x[ch, y, x] * masks[first + j, y, x] for
// j < count, the mask broadcast over the three colour channels (ClusCAM's centroids). One
// thread per mask value writes its three channels; consecutive threads read and write
// consecutive addresses.
struct Params {
  // Flat index of image b's first value in the inputs [B, 3, H, W].
  input_base: u32,
  // Flat index of mask `first`'s first value in the masks [*, H, W].
  mask_base: u32,
  // H * W.
  plane: u32,
  // count * H * W.
  total: u32,
}

@group(0) @binding(0) var<storage, read> inputs: array<f32>;
@group(0) @binding(1) var<storage, read> masks: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let plane = params.plane;
  let j = i / plane;
  let p = i % plane;
  let m = masks[params.mask_base + i];
  let o = 3u * j * plane + p;
  let x = params.input_base + p;
  out[o] = inputs[x] * m;
  out[o + plane] = inputs[x + plane] * m;
  out[o + 2u * plane] = inputs[x + 2u * plane] * m;
}
