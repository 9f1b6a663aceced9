// DBSCAN step 4: number the clusters 0, 1, 2, ... in increasing order of their root (their
// smallest core index, scikit-learn's order) and write the labels. One workgroup per image:
// each thread owns a contiguous run of remaining channels; a scan over the runs gives ids.
struct Params {
  channels: u32,
  batch_offset: u32,
}

@group(0) @binding(0) var<storage, read_write> state: array<ImageState>;
@group(0) @binding(1) var<storage, read> core: array<u32>;
@group(0) @binding(2) var<storage, read> root: array<u32>;
@group(0) @binding(3) var<storage, read> remaining_index: array<u32>;
@group(0) @binding(4) var<storage, read_write> labels: array<i32>;
@group(0) @binding(5) var<storage, read_write> remaining_label: array<i32>;
@group(0) @binding(6) var<storage, read_write> cluster_of_root: array<u32>;
// Indirect dispatch size of the cluster filter: (max clusters over the batch, 1, B).
@group(0) @binding(7) var<storage, read_write> filter_dispatch: array<atomic<u32>>;
@group(0) @binding(8) var<uniform> params: Params;

var<workgroup> noise: atomic<u32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = params.channels;
  let b = params.batch_offset + wid.x;
  let base = b * c;
  let m = state[b].remaining;
  let chunk = (m + ${WG}u - 1u) / ${WG}u;
  let start = min(lid * chunk, m);
  let end = min(start + chunk, m);
  if (lid == 0u) {
    atomicStore(&noise, 0u);
  }

  var mine = 0u;
  for (var i = start; i < end; i++) {
    mine += select(0u, 1u, core[base + i] == 1u && root[base + i] == i);
  }
  var id = exclusive_scan(lid, mine);
  for (var i = start; i < end; i++) {
    if (core[base + i] == 1u && root[base + i] == i) {
      cluster_of_root[base + i] = id;
      id++;
    }
  }
  storageBarrier();
  for (var i = start; i < end; i++) {
    let r = root[base + i];
    var label = -1;
    if (r == NONE) {
      atomicAdd(&noise, 1u);
    } else {
      label = i32(cluster_of_root[base + r]);
    }
    remaining_label[base + i] = label;
    labels[base + remaining_index[base + i]] = label;
  }
  workgroupBarrier();
  if (lid == 0u) {
    state[b].clusters = scan_total;
    state[b].noise = atomicLoad(&noise);
    atomicMax(&filter_dispatch[0], scan_total);
  }
}
