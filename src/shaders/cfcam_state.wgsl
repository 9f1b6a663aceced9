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
  pad: array<u32, 4>,
}

const NONE: u32 = 0xffffffffu;
