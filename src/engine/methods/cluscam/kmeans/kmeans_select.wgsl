// K-Means++ step, part 2: choose seed s_{j+1} from D2 (src/engine/reference/kmeans.ts):
// S = float32 sum of D2 in index order; if S > 0, the smallest i whose inclusive prefix sum
// (the same partial sums) exceeds t = u_{j+1} * S, or the last i with D2(i) > 0 when rounding
// leaves none; if S == 0, the lowest-index point not chosen yet. Also marks s_j as chosen.
//
// N is small (<= a few thousand): a single invocation walks the values in order, which is
// exactly the CPU's order and needs no workgroup memory or barriers. The chosen index stays on
// the GPU (seeds[j + 1]) for the next distance update, so the whole seeding is one submit.
struct Params {
  count: u32,
  slot: u32,  // j: s_j was folded into D2; s_{j+1} is chosen here
}

@group(0) @binding(0) var<storage, read> d2: array<f32>;           // [N]
@group(0) @binding(1) var<storage, read> draws: array<f32>;        // [K] u_0..u_{K-1}
@group(0) @binding(2) var<storage, read_write> seeds: array<u32>;  // [K]
@group(0) @binding(3) var<storage, read_write> chosen: array<u32>; // [N], 1 = already a seed
@group(0) @binding(4) var<uniform> params: Params;

const NONE = 0xffffffffu;

@compute @workgroup_size(1)
fn main() {
  let n = params.count;
  let j = params.slot;
  chosen[seeds[j]] = 1u;
  var total = 0.0;
  for (var i = 0u; i < n; i++) {
    total += d2[i];
  }
  var pick = NONE;
  if (total > 0.0) {
    let threshold = draws[j + 1u] * total;
    var run = 0.0;
    var last = NONE;
    for (var i = 0u; i < n; i++) {
      let v = d2[i];
      run += v;
      if (v > 0.0) {
        last = i;
      }
      if (run > threshold) {
        pick = i;
        break;
      }
    }
    if (pick == NONE) {
      pick = last;
    }
  } else {
    for (var i = 0u; i < n; i++) {
      if (chosen[i] == 0u) {
        pick = i;
        break;
      }
    }
  }
  seeds[j + 1u] = pick;
}
