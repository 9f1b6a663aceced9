// Eigen-CAM, step 3: the dominant eigenvector of each image's Gram matrix G (n x n,
// symmetric positive semi-definite) by power iteration, one workgroup per image.
//
// Each step is w = G v, then v = w / max_i |w_i|. Normalising by the largest magnitude
// rather than the 2-norm keeps every intermediate bounded by |G| (no squares that could
// overflow float32), and at convergence that maximum is the eigenvalue lambda_1.
// At most `iterations` steps; the loop ends early once the vector stops moving (a uniform
// decision, so every thread runs the same barriers).
// Outputs: eigvec[b] = the eigenvector with unit 2-norm, eigval[b] = lambda_1 (0 when G = 0).
//
// v and w live in storage buffers (not workgroup memory) so n is not capped by the
// workgroup storage limit; every thread reads all of v, so each step ends in a storage
// barrier. Each thread owns rows lid, lid + WG, ... of w, so w needs no barrier.
struct Params {
  n: u32,
  iterations: u32,
  batch: u32,
}

@group(0) @binding(0) var<storage, read> gram: array<f32>;
@group(0) @binding(1) var<storage, read_write> eigvec: array<f32>;
@group(0) @binding(2) var<storage, read_write> work: array<f32>;
@group(0) @binding(3) var<storage, read_write> eigval: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;


// A fixed pseudo-random start (PCG hash of the index) in [-1, 1). A constant start would be
// orthogonal to the dominant eigenvector of X X^T: its columns are centred, so the all-ones
// vector lies in its null space.
fn start_value(i: u32) -> f32 {
  var h = i * 747796405u + 2891336453u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  return f32(h >> 8u) / 8388608.0 - 1.0;
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let b = flat_workgroup(wid, nwg);
  if (b >= params.batch) {
    return;
  }
  let n = params.n;
  let v0 = b * n;
  let g0 = b * n * n;
  for (var i = lid; i < n; i += ${WG}u) {
    eigvec[v0 + i] = start_value(i);
  }
  storageBarrier();

  var scale = 0.0;
  for (var it = 0u; it < params.iterations; it++) {
    var largest = 0.0;
    for (var i = lid; i < n; i += ${WG}u) {
      // G is symmetric: walking column i (G[j, i]) lets neighbouring threads read
      // neighbouring addresses.
      var sum = 0.0;
      for (var j = 0u; j < n; j++) {
        sum += gram[g0 + j * n + i] * eigvec[v0 + j];
      }
      work[v0 + i] = sum;
      largest = max(largest, abs(sum));
    }
    // The reduction's barriers also guarantee every thread has finished reading eigvec.
    scale = reduce_max(lid, largest);
    let inv = select(0.0, 1.0 / scale, scale > 0.0);
    var moved = 0.0;
    for (var i = lid; i < n; i += ${WG}u) {
      let next = work[v0 + i] * inv;
      moved = max(moved, abs(next - eigvec[v0 + i]));
      eigvec[v0 + i] = next;
    }
    storageBarrier();
    // Converged: entries are at most 1 in magnitude, so no entry moving by more than 1e-7
    // is float32's resolution. The result is uniform, so every thread leaves together.
    if (reduce_max(lid, moved) <= 1e-7) {
      break;
    }
  }

  // Rescale to unit 2-norm; entries are at most 1 in magnitude here, so squares are safe.
  var squares = 0.0;
  for (var i = lid; i < n; i += ${WG}u) {
    let v = eigvec[v0 + i];
    squares += v * v;
  }
  let norm = sqrt(reduce_sum(lid, squares));
  let inv_norm = select(0.0, 1.0 / norm, norm > 0.0);
  for (var i = lid; i < n; i += ${WG}u) {
    eigvec[v0 + i] = eigvec[v0 + i] * inv_norm;
  }
  if (lid == 0u) {
    eigval[b] = scale;
  }
}
