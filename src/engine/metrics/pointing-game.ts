/**
 * Localisation against a ground-truth box [x0, y0, x1, y1] (pixels of the map, x1 / y1
 * exclusive): the pointing game (Zhang et al. 2016: a hit when the map's maximum, first one on
 * ties, lies within `tolerance` pixels of the box; default 0) and the energy-based pointing game
 * (Score-CAM, Wang et al. 2020: the share of the map's sum that falls inside the box).
 */
export type Box = readonly [number, number, number, number];

export interface PointingResult {
  hit: boolean;
  energy: number;
  /** The maximum's position [x, y]. */
  peak: [number, number];
}

export function pointingGame(map: Float32Array, width: number, box: Box, tolerance = 0): PointingResult {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  const px = best % width;
  const py = Math.floor(best / width);
  // Distance from the pixel to the box (0 inside).
  const dx = Math.max(box[0] - px, 0, px - (box[2] - 1));
  const dy = Math.max(box[1] - py, 0, py - (box[3] - 1));
  let inside = 0;
  let total = 0;
  for (let i = 0; i < map.length; i++) {
    const x = i % width;
    const y = Math.floor(i / width);
    total += map[i];
    if (x >= box[0] && x < box[2] && y >= box[1] && y < box[3]) inside += map[i];
  }
  return { hit: Math.hypot(dx, dy) <= tolerance, energy: total > 0 ? inside / total : 0, peak: [px, py] };
}
