/**
 * softmax over the entries that `keep` marks (all when omitted) of values / temperature, in
 * float64; the others get 0. One definition for CF-CAM's channel weights, Score-CAM's scores,
 * ClusCAM's cluster weights and the explainers' class probabilities.
 */
export function softmax(values: ArrayLike<number>, options: { keep?: ArrayLike<number>; temperature?: number } = {}): Float64Array {
  const { keep, temperature = 1 } = options;
  const kept = (k: number) => !keep || keep[k] !== 0;
  let high = -Infinity;
  for (let k = 0; k < values.length; k++) if (kept(k)) high = Math.max(high, values[k] / temperature);
  const out = new Float64Array(values.length);
  let total = 0;
  for (let k = 0; k < values.length; k++) if (kept(k)) total += out[k] = Math.exp(values[k] / temperature - high);
  for (let k = 0; k < values.length; k++) out[k] /= total;
  return out;
}
