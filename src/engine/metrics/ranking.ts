/**
 * Pixel order by relevance: rank 0 is the pixel with the largest map value. CF-CAM's auc.py
 * sorts with numpy's (unstable) argsort; here ties go to the lower pixel index first, a stable
 * order both the GPU and CPU paths and the NumPy fixtures share (`np.argsort(-map, kind='stable')`).
 */
export function pixelRanks(map: Float32Array): Float32Array {
  const order = Array.from({ length: map.length }, (_, i) => i);
  order.sort((a, b) => map[b] - map[a] || a - b);
  const ranks = new Float32Array(map.length);
  order.forEach((pixel, rank) => (ranks[pixel] = rank));
  return ranks;
}

/**
 * numpy.percentile with its default linear interpolation: the q-th percentile (0..100) of
 * `values`.
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
