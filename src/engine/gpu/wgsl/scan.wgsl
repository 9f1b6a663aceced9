// Exclusive prefix sum of one count per invocation across the workgroup (prepended to kernels
// that compact or number items in order; needs ${WG}). Each invocation owns a contiguous run of
// items, so the offsets keep item order. Every invocation must call it (it contains barriers).
var<workgroup> scan_offsets: array<u32, ${WG}>;
var<workgroup> scan_total: u32;

// Returns this invocation's offset; scan_total holds the sum afterwards.
fn exclusive_scan(lid: u32, count: u32) -> u32 {
  scan_offsets[lid] = count;
  workgroupBarrier();
  if (lid == 0u) {
    // ${WG} values: a serial pass is cheaper than a tree at this size.
    var running = 0u;
    for (var t = 0u; t < ${WG}u; t++) {
      let n = scan_offsets[t];
      scan_offsets[t] = running;
      running += n;
    }
    scan_total = running;
  }
  workgroupBarrier();
  return scan_offsets[lid];
}
