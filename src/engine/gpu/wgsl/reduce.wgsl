// Workgroup-wide tree reductions of one f32 per invocation (prepended to kernels that use
// them; needs ${WG}, a power of two). Every invocation must call them (they contain barriers),
// and every invocation gets the result as a uniform value, so callers may branch on it around
// later barriers. The trailing barrier lets the next reduction reuse the scratch array.
var<workgroup> reduce_scratch: array<f32, ${WG}>;

fn reduce_sum(lid: u32, value: f32) -> f32 {
  reduce_scratch[lid] = value;
  workgroupBarrier();
  for (var stride = ${WG}u / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      reduce_scratch[lid] += reduce_scratch[lid + stride];
    }
    workgroupBarrier();
  }
  let result = workgroupUniformLoad(&reduce_scratch[0]);
  workgroupBarrier();
  return result;
}

fn reduce_min(lid: u32, value: f32) -> f32 {
  reduce_scratch[lid] = value;
  workgroupBarrier();
  for (var stride = ${WG}u / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      reduce_scratch[lid] = min(reduce_scratch[lid], reduce_scratch[lid + stride]);
    }
    workgroupBarrier();
  }
  let result = workgroupUniformLoad(&reduce_scratch[0]);
  workgroupBarrier();
  return result;
}

fn reduce_max(lid: u32, value: f32) -> f32 {
  reduce_scratch[lid] = value;
  workgroupBarrier();
  for (var stride = ${WG}u / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      reduce_scratch[lid] = max(reduce_scratch[lid], reduce_scratch[lid + stride]);
    }
    workgroupBarrier();
  }
  let result = workgroupUniformLoad(&reduce_scratch[0]);
  workgroupBarrier();
  return result;
}
