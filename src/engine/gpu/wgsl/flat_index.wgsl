// Flat indices in the 2-D dispatch grids that workgroupGrid() makes (one grid dimension holds at
// most 65535 workgroups, so large dispatches spill over into y).
fn flat_workgroup(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// The invocation's index when every workgroup is ${WG} invocations wide.
fn flat_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return flat_workgroup(wid, nwg) * ${WG}u + lid;
}
