// Eigen-CAM, step 4: the map X v1 per image, its sign fixed, then ReLU. One workgroup per image.
//   CHANNELS (C x C Gram): eigvec is v1 (length C): map[p] = sum_k centred[b,k,p] v1[k]
//   else   (HW x HW Gram): eigvec is u1 (length HW), and X v1 = sigma_1 u1 with
//                          sigma_1 = sqrt(lambda_1): map[p] = sqrt(eigval[b]) u1[p]
// Both give the same map up to the sign of the eigenvector, which power iteration leaves
// arbitrary. The project's convention makes the entry of largest magnitude positive (ties go
// to the lowest index, as a first-found scan on the CPU would), then applies the family's ReLU.
struct Params {
  channels: u32,
  pixels: u32,
  batch: u32,
}

@group(0) @binding(0) var<storage, read> centred: array<f32>;
@group(0) @binding(1) var<storage, read> eigvec: array<f32>;
@group(0) @binding(2) var<storage, read> eigval: array<f32>;
@group(0) @binding(3) var<storage, read_write> map: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// The signed value and index of each thread's (then the workgroup's) largest-magnitude entry.
var<workgroup> best_value: array<f32, ${WG}>;
var<workgroup> best_index: array<u32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let b = flat_workgroup(wid, nwg);
  if (b >= params.batch) {
    return;
  }
  let n = params.pixels;
  let out0 = b * n;

  // Raw projection into map; each thread keeps its own first index of largest magnitude.
  var my_value = 0.0;
  var my_index = 0xffffffffu;
  for (var p = lid; p < n; p += ${WG}u) {
#if ${CHANNELS}
    let a0 = b * params.channels * n + p;
    let v0 = b * params.channels;
    var value = 0.0;
    for (var k = 0u; k < params.channels; k++) {
      value += centred[a0 + k * n] * eigvec[v0 + k];
    }
#else
    let value = sqrt(eigval[b]) * eigvec[out0 + p];
#endif
    map[out0 + p] = value;
    if (abs(value) > abs(my_value)) {
      my_value = value;
      my_index = p;
    }
  }

  // A thread without a nonzero entry keeps value 0 at index 0xffffffff, so it loses every
  // comparison, ties included.
  best_value[lid] = my_value;
  best_index[lid] = my_index;
  workgroupBarrier();
  for (var stride = ${WG}u / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      let mine = abs(best_value[lid]);
      let other = abs(best_value[lid + stride]);
      let other_index = best_index[lid + stride];
      if (other > mine || (other == mine && other_index < best_index[lid])) {
        best_value[lid] = best_value[lid + stride];
        best_index[lid] = other_index;
      }
    }
    workgroupBarrier();
  }
  // The sign comes from workgroup memory, not from map, which other threads are rewriting.
  let sign = select(-1.0, 1.0, best_value[0] >= 0.0);
  // Each thread rewrites only the entries it wrote above, so no storage barrier is needed.
  for (var p = lid; p < n; p += ${WG}u) {
    map[out0 + p] = max(sign * map[out0 + p], 0.0);
  }
}
