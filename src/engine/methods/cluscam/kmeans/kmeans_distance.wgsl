// K-Means squared distances, chunked (src/engine/reference/kmeans.ts has the definition):
// partial[(p * ROWS + k) * chunks + s] = the float32 sum over d in chunk s, in increasing d, of
// (points[p, d] - centre_k[d])^2, chunks of CHUNK coordinates. The consumers add the chunk sums
// in chunk order (kmeans_assign.wgsl, kmeans_d2.wgsl).
//
// Centres: the K centroids [K, D] (ROWS = K), or with SEEDING the one seed point
// points[seeds[seed_slot]] (ROWS = 1), for the K-Means++ D2 update.
//
// SwiftShader (and memory bandwidth everywhere) make loads the cost, so each invocation
// computes a tile of distances over its chunk and reuses every value it loads: 4 points x 4
// centroids (8 loads for 16 pairs), or with SEEDING 16 points x the seed (17 loads for 16).
// Accumulators are vec4s (one lane per pair of the tile), each lane still adding its own
// (x_d - y_d)^2 in increasing d, so the order of every pair's sum is the definition's. With
// VEC4 (D a multiple of 4) rows are read as vec4s: 4 coordinates per load, added in order.
// Tiles hanging over N or K read clamped rows and skip their stores. No workgroup memory or
// barriers.
struct Params {
  count: u32,
  elems: u32,  // row length in array elements: D / 4 with VEC4, else D
  rows: u32,   // K, or 1 with SEEDING
  chunks: u32,
  seed_slot: u32,
}

#if ${VEC4}
alias Elem = vec4f;
const CHUNK_ELEMS = ${CHUNK}u / 4u;
#else
alias Elem = f32;
const CHUNK_ELEMS = ${CHUNK}u;
#endif

@group(0) @binding(0) var<storage, read> points: array<Elem>;
#if ${SEEDING}
@group(0) @binding(1) var<storage, read> seeds: array<u32>;
#else
@group(0) @binding(1) var<storage, read> centroids: array<Elem>;
#endif
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// acc[j] += (x - y_j)^2 coordinate by coordinate, in increasing coordinate order.
fn accumulate(acc: vec4f, x: Elem, y0: Elem, y1: Elem, y2: Elem, y3: Elem) -> vec4f {
#if ${VEC4}
  let y = transpose(mat4x4f(y0, y1, y2, y3));
  var a = acc;
  var q = vec4f(x.x) - y[0];
  a += q * q;
  q = vec4f(x.y) - y[1];
  a += q * q;
  q = vec4f(x.z) - y[2];
  a += q * q;
  q = vec4f(x.w) - y[3];
  a += q * q;
  return a;
#else
  let q = vec4f(x) - vec4f(y0, y1, y2, y3);
  return acc + q * q;
#endif
}

// partial[base + j * stride] = a[j] for j < min(valid, 4).
fn store(base: u32, stride: u32, valid: u32, a: vec4f) {
  for (var j = 0u; j < min(valid, 4u); j++) {
    partial[base + j * stride] = a[j];
  }
}

// Element offset of row r (clamped to the last row) of a [rows, elems] array.
fn row(r: u32, last: u32) -> u32 {
  return min(r, last) * params.elems;
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = flat_index(wid, nwg, lid);
  let n = params.count;
  let chunks = params.chunks;
  let last = n - 1u;
#if ${SEEDING}
  let blocks = (n + 15u) / 16u;
  if (g >= blocks * chunks) {
    return;
  }
  let p0 = (g % blocks) * 16u;
  let s = g / blocks;
#else
  let rows = params.rows;
  let kblocks = (rows + 3u) / 4u;
  let tiles = kblocks * ((n + 3u) / 4u);
  if (g >= tiles * chunks) {
    return;
  }
  let k0 = (g % kblocks) * 4u;
  let p0 = ((g % tiles) / kblocks) * 4u;
  let s = g / tiles;
#endif
  let start = s * CHUNK_ELEMS;
  let end = min(start + CHUNK_ELEMS, params.elems);
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
#if ${SEEDING}
  // a_q[j]: point p0 + 4q + j against the seed.
  let c = seeds[params.seed_slot] * params.elems;
  let r0 = row(p0, last);
  let r1 = row(p0 + 1u, last);
  let r2 = row(p0 + 2u, last);
  let r3 = row(p0 + 3u, last);
  let r4 = row(p0 + 4u, last);
  let r5 = row(p0 + 5u, last);
  let r6 = row(p0 + 6u, last);
  let r7 = row(p0 + 7u, last);
  let r8 = row(p0 + 8u, last);
  let r9 = row(p0 + 9u, last);
  let r10 = row(p0 + 10u, last);
  let r11 = row(p0 + 11u, last);
  let r12 = row(p0 + 12u, last);
  let r13 = row(p0 + 13u, last);
  let r14 = row(p0 + 14u, last);
  let r15 = row(p0 + 15u, last);
  for (var d = start; d < end; d++) {
    let x = points[c + d];
    a0 = accumulate(a0, x, points[r0 + d], points[r1 + d], points[r2 + d], points[r3 + d]);
    a1 = accumulate(a1, x, points[r4 + d], points[r5 + d], points[r6 + d], points[r7 + d]);
    a2 = accumulate(a2, x, points[r8 + d], points[r9 + d], points[r10 + d], points[r11 + d]);
    a3 = accumulate(a3, x, points[r12 + d], points[r13 + d], points[r14 + d], points[r15 + d]);
  }
  for (var q = 0u; q < 4u; q++) {
    let p = p0 + 4u * q;
    if (p < n) {
      let a = select(select(select(a3, a2, q == 2u), a1, q == 1u), a0, q == 0u);
      store(p * chunks + s, chunks, n - p, a);
    }
  }
#else
  // a_i[j]: point p0 + i against centroid k0 + j.
  let klast = rows - 1u;
  let y0 = row(k0, klast);
  let y1 = row(k0 + 1u, klast);
  let y2 = row(k0 + 2u, klast);
  let y3 = row(k0 + 3u, klast);
  let x0 = row(p0, last);
  let x1 = row(p0 + 1u, last);
  let x2 = row(p0 + 2u, last);
  let x3 = row(p0 + 3u, last);
  for (var d = start; d < end; d++) {
    let c0 = centroids[y0 + d];
    let c1 = centroids[y1 + d];
    let c2 = centroids[y2 + d];
    let c3 = centroids[y3 + d];
    a0 = accumulate(a0, points[x0 + d], c0, c1, c2, c3);
    a1 = accumulate(a1, points[x1 + d], c0, c1, c2, c3);
    a2 = accumulate(a2, points[x2 + d], c0, c1, c2, c3);
    a3 = accumulate(a3, points[x3 + d], c0, c1, c2, c3);
  }
  for (var i = 0u; i < 4u; i++) {
    let p = p0 + i;
    if (p < n) {
      let a = select(select(select(a3, a2, i == 2u), a1, i == 1u), a0, i == 0u);
      store((p * rows + k0) * chunks + s, chunks, rows - k0, a);
    }
  }
#endif
}
