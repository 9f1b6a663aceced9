/** Bytes of one image's ImageState (cfcam_state.wgsl): 16 four-byte words. */
export const IMAGE_STATE_BYTES = 64;

/** Word offsets inside ImageState, for decoding a readback. */
export const STATE_FIELDS = {
  remaining: 0,
  important: 1,
  threshold: 2,
  eps: 3,
  minSamples: 4,
  clusters: 5,
  noise: 6,
  epsFrac: 7,
  selectPrefix: 8,
  selectRank: 10,
  radius: 12,
} as const;
