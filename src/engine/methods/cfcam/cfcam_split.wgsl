// Splits each image's channels into important (norm at or above the 75th percentile, label -2)
// and remaining (compacted in ascending channel order for DBSCAN), and prepares the eps
// percentile. One workgroup per image.
//
// numpy's linear percentile at q has virtual index v = q * (n - 1); with q = 3/4 or 1/4 and
// integer n, floor(v) and frac(v) are exact in integer arithmetic. Importance is decided by
// rank, not by comparing with the rounded threshold: the threshold lies strictly above s[lo]
// when frac > 0 and s[lo] < s[hi], so "n >= threshold" equals "n >= s[hi]" (and "n >= s[lo]"
// when frac = 0) exactly as numpy's float64 comparison decides it.
struct Params {
  channels: u32,
}

@group(0) @binding(0) var<storage, read> norms: array<f32>;
@group(0) @binding(1) var<storage, read> sorted_norms: array<f32>;
@group(0) @binding(2) var<storage, read_write> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> remaining_index: array<u32>;
@group(0) @binding(4) var<storage, read_write> state: array<ImageState>;
@group(0) @binding(5) var<uniform> params: Params;


@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let b = wid.x;
  let base = b * c;

  let q = 3u * (c - 1u);
  let lo = q / 4u;
  let frac = f32(q % 4u) * 0.25;
  let hi = min(lo + 1u, c - 1u);
  let s_lo = sorted_norms[base + lo];
  let s_hi = sorted_norms[base + hi];
  let cut = select(s_hi, s_lo, frac == 0.0);

  // Each thread owns a contiguous run of channels, so the compaction keeps channel order.
  let chunk = (c + ${WG}u - 1u) / ${WG}u;
  let start = min(lid * chunk, c);
  let end = min(start + chunk, c);
  var mine = 0u;
  for (var k = start; k < end; k++) {
    mine += select(0u, 1u, norms[base + k] < cut);
  }
  var r = exclusive_scan(lid, mine);
  for (var k = start; k < end; k++) {
    if (norms[base + k] < cut) {
      remaining_index[base + r] = k;
      labels[base + k] = -1;
      r++;
    } else {
      labels[base + k] = -2;
    }
  }

  if (lid == 0u) {
    let m = scan_total;
    var s: ImageState;
    s.remaining = m;
    s.important = c - m;
    s.threshold = lerp_numpy(s_lo, s_hi, frac);
    s.min_samples = max(2u, m / 20u);  // max(2, int(0.05 * m)), exactly
    s.clusters = 0u;
    s.noise = 0u;
    // eps: percentile 25 over the m(m-1) ordered pairs. Each unordered pair appears twice, so
    // rank r of the doubled sorted list is rank floor(r / 2) of the upper triangle.
    s.eps = 1e-5;
    s.radius = 1e-5;
    s.eps_frac = 0.0;
    s.select_rank[0] = 0u;
    s.select_rank[1] = 0u;
    if (m >= 2u) {
      let qe = m * (m - 1u) - 1u;
      let lo_e = qe / 4u;
      s.eps_frac = f32(qe % 4u) * 0.25;
      s.select_rank[0] = lo_e / 2u;
      s.select_rank[1] = select(lo_e / 2u, (lo_e + 1u) / 2u, qe % 4u != 0u);
    }
    s.select_prefix[0] = 0u;
    s.select_prefix[1] = 0u;
    state[b] = s;
  }
}
