// DBSCAN step 2: clusters are the connected components of core points joined by edges
// d <= radius. One workgroup per image walks them breadth-first on the neighbour bit rows
// (dbscan_neighbours.wgsl): seeds are taken in increasing channel order, so each component's
// seed is its smallest core index, scikit-learn's cluster order and the root that
// dbscan_resolve / dbscan_number expect (parent[j] = seed for every core point j of it).
// A level ORs the bit rows of all frontier members: thread t owns words t, t + ${WG}, ... of
// the bit sets, so the whole walk costs about one word operation per core point and word,
// with no atomics on the forest and two barriers per level, instead of one union-find step
// per edge (about m^2 / 8 of them at the 25th-percentile eps).
struct Params {
  channels: u32,
  batch_offset: u32,
  words: u32,
}

@group(0) @binding(0) var<storage, read> neighbours: array<u32>;  // [chunk, C, words]
@group(0) @binding(1) var<storage, read> state: array<ImageState>;
@group(0) @binding(2) var<storage, read> core_bits: array<u32>;  // [B, words]
@group(0) @binding(3) var<storage, read_write> parent: array<u32>;  // [B, C]
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> visited: array<u32, ${WORDS}>;
var<workgroup> frontier: array<u32, ${WORDS}>;
var<workgroup> next_bits: array<u32, ${WORDS}>;
var<workgroup> seed_min: atomic<u32>;
var<workgroup> seed_found: u32;
// Whether a level added anything, alternating by level parity (see the reset below).
var<workgroup> grew: array<atomic<u32>, 2>;
var<workgroup> grew_plain: u32;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let b = params.batch_offset + wid.x;
  let m = state[b].remaining;
  let used = (m + 31u) / 32u;
  let planes = wid.x * c * params.words;
  let core_row = b * params.words;
  let base = b * c;
  for (var w = lid; w < used; w += ${WG}u) {
    visited[w] = 0u;
  }
  loop {
    if (lid == 0u) {
      atomicStore(&seed_min, NONE);
    }
    workgroupBarrier();
    // The next seed: the smallest core point not yet in a cluster.
    for (var w = lid; w < used; w += ${WG}u) {
      let candidates = core_bits[core_row + w] & ~visited[w];
      if (candidates != 0u) {
        atomicMin(&seed_min, w * 32u + firstTrailingBit(candidates));
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      seed_found = atomicLoad(&seed_min);
    }
    let seed = workgroupUniformLoad(&seed_found);
    if (seed == NONE) {
      break;
    }
    for (var w = lid; w < used; w += ${WG}u) {
      var bits = 0u;
      if (w == seed / 32u) {
        bits = 1u << (seed % 32u);
        parent[base + seed] = seed;
      }
      frontier[w] = bits;
      visited[w] |= bits;
    }
    if (lid == 0u) {
      atomicStore(&grew[0], 0u);
      atomicStore(&grew[1], 0u);
    }
    workgroupBarrier();
    var level = 0u;
    loop {
      let parity = level % 2u;
      // Only thread 0 reads the flags; grew[1 - parity] is written by the next level, two
      // barriers after this clear.
      if (lid == 0u) {
        atomicStore(&grew[1u - parity], 0u);
      }
      // Expand: OR the bit rows of every frontier member into this thread's words.
      for (var w = lid; w < used; w += ${WG}u) {
        next_bits[w] = 0u;
      }
      for (var fw = 0u; fw < used; fw++) {
        var members = frontier[fw];
        loop {
          if (members == 0u) {
            break;
          }
          let f = fw * 32u + firstTrailingBit(members);
          let row = planes + f * params.words;
          for (var w = lid; w < used; w += ${WG}u) {
            next_bits[w] |= neighbours[row + w];
          }
          members &= members - 1u;
        }
      }
      workgroupBarrier();
      // Update: the new core points join the cluster and form the next frontier.
      for (var w = lid; w < used; w += ${WG}u) {
        let fresh = next_bits[w] & core_bits[core_row + w] & ~visited[w];
        frontier[w] = fresh;
        visited[w] |= fresh;
        if (fresh != 0u) {
          atomicStore(&grew[parity], 1u);
          var bits = fresh;
          loop {
            if (bits == 0u) {
              break;
            }
            parent[base + w * 32u + firstTrailingBit(bits)] = seed;
            bits &= bits - 1u;
          }
        }
      }
      workgroupBarrier();
      if (lid == 0u) {
        grew_plain = atomicLoad(&grew[parity]);
      }
      if (workgroupUniformLoad(&grew_plain) == 0u) {
        break;
      }
      level++;
    }
  }
}
