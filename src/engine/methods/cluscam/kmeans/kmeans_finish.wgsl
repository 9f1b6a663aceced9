// K-Means bookkeeping after an assignment, a single invocation (N and K are small):
// - with COUNT (after a Lloyd update + assignment): count the iteration; when no assignment
//   changed, or maxIterations is reached, mark the run inactive and zero the indirect dispatch
//   sizes of the Lloyd kernels, so the iterations recorded after it cost nothing;
// - otherwise clear flags.changed and list each cluster's members for the next update:
//   members = [count_k (K), end_k (K), point indices grouped by cluster in increasing index (N)]
//   (a counting sort; cluster k's members are order[end_k - count_k .. end_k)).
struct Params {
  count: u32,
  clusters: u32,
}

struct Flags {
  running: u32,
  changed: u32,
  iterations: u32,
  max_iterations: u32,
}

@group(0) @binding(0) var<storage, read_write> flags: Flags;
@group(0) @binding(1) var<storage, read> assignments: array<u32>;   // [N]
@group(0) @binding(2) var<storage, read_write> members: array<u32>; // [2K + N]
@group(0) @binding(3) var<storage, read_write> lloyd_args: array<u32>;  // 3 x (x, y, z)
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(1)
fn main() {
  if (flags.running == 0u) {
    return;
  }
#if ${COUNT}
  flags.iterations += 1u;
  if (flags.changed == 0u || flags.iterations >= flags.max_iterations) {
    flags.running = 0u;
    for (var i = 0u; i < 9u; i++) {
      lloyd_args[i] = 0u;
    }
    return;
  }
#endif
  flags.changed = 0u;
  let n = params.count;
  let k_count = params.clusters;
  for (var k = 0u; k < k_count; k++) {
    members[k] = 0u;
  }
  for (var p = 0u; p < n; p++) {
    members[assignments[p]] += 1u;
  }
  var run = 0u;
  for (var k = 0u; k < k_count; k++) {
    members[k_count + k] = run;
    run += members[k];
  }
  let order = 2u * k_count;
  for (var p = 0u; p < n; p++) {
    let cursor = k_count + assignments[p];
    members[order + members[cursor]] = p;
    members[cursor] += 1u;
  }
}
