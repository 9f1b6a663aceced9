/**
 * A JET colour for a value in [0,1] for the placeholder page: quantised like
 * `np.uint8(255 * v)`, then the common piecewise-linear JET ramps. This is close to, but not
 * the exact table of, OpenCV's COLORMAP_JET that the reference overlay uses.
 */
export function jetColor(value: number): [number, number, number] {
  const level = Math.min(255, Math.max(0, Math.floor(255 * value)));
  const x = level / 255;
  const channel = (offset: number) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - offset))));
  return [channel(3), channel(2), channel(1)];
}
