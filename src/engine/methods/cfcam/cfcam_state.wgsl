// Per-image bookkeeping shared by the CF-CAM kernels (prepended to each of them).
// 16 words; written by cfcam_split, radix_select and dbscan_number.
struct ImageState {
  remaining: u32,        // m: channels below the norm threshold, clustered by DBSCAN
  important: u32,        // channels at or above the threshold (label -2)
  threshold: f32,        // 75th percentile of the channel norms
  eps: f32,              // DBSCAN radius: 25th percentile of pairwise distances, >= 1e-5
  min_samples: u32,      // max(2, floor(0.05 * m))
  clusters: u32,
  noise: u32,
  eps_frac: f32,         // interpolation fraction between the two selected distances
  select_prefix: array<u32, 2>,  // radix select: bits fixed so far, for the two ranks
  select_rank: array<u32, 2>,    // radix select: rank still sought inside the prefix bucket
  // DBSCAN's neighbour test as an exact float32 comparison, d <= radius: eps lies between two
  // consecutive order statistics u0 <= u1 of the distances, so d <= eps exactly when d <= u0
  // (or d <= f32(1e-5), the largest float32 not above 1e-5, when the floor applies). Comparing
  // with eps rounded to float32 could admit a pair just above the true eps.
  radius: f32,
  pad: array<u32, 3>,
}

const NONE: u32 = 0xffffffffu;

// numpy's _lerp: a + (b - a) * t, evaluated from the nearer end for t >= 0.5.
fn lerp_numpy(a: f32, b: f32, t: f32) -> f32 {
  if (t >= 0.5) {
    return b - (b - a) * (1.0 - t);
  }
  return a + (b - a) * t;
}
