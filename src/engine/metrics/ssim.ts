/**
 * SSIM and MSE between two maps, as CF-CAM's robust.py measures map stability:
 * skimage.metrics.structural_similarity(a, b, data_range=1) with its defaults, i.e. a 7x7
 * uniform window (scipy.ndimage.uniform_filter, mode 'reflect'), K1 = 0.01, K2 = 0.03, sample
 * covariances (x 49/48), and the mean of the SSIM image over the pixels at least 3 from the
 * border; MSE = mean((a - b)^2). Float64 throughout, as skimage.
 */
const WIN = 7;

/** scipy.ndimage.uniform_filter (size 7, mode 'reflect': d c b a | a b c d) of an image. */
function uniformFilter(src: Float64Array, height: number, width: number): Float64Array {
  const r = (WIN - 1) / 2;
  const reflect = (i: number, n: number) => {
    // Half-sample symmetric extension, repeated for windows larger than the image.
    const period = 2 * n;
    let k = ((i % period) + period) % period;
    if (k >= n) k = period - 1 - k;
    return k;
  };
  const rows = new Float64Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += src[y * width + reflect(x + t, width)];
      rows[y * width + x] = s / WIN;
    }
  }
  const out = new Float64Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += rows[reflect(y + t, height) * width + x];
      out[y * width + x] = s / WIN;
    }
  }
  return out;
}

export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, dataRange = 1): number {
  if (height < WIN || width < WIN) throw new Error(`ssim: the maps (${height}x${width}) are smaller than the 7x7 window`);
  const x = Float64Array.from(a);
  const y = Float64Array.from(b);
  const xx = x.map((v) => v * v);
  const yy = y.map((v) => v * v);
  const xy = x.map((v, i) => v * y[i]);
  const [ux, uy, uxx, uyy, uxy] = [x, y, xx, yy, xy].map((m) => uniformFilter(m, height, width));
  const covNorm = (WIN * WIN) / (WIN * WIN - 1);
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  const pad = (WIN - 1) / 2;
  let total = 0;
  let count = 0;
  for (let r = pad; r < height - pad; r++) {
    for (let c = pad; c < width - pad; c++) {
      const i = r * width + c;
      const vx = covNorm * (uxx[i] - ux[i] * ux[i]);
      const vy = covNorm * (uyy[i] - uy[i] * uy[i]);
      const vxy = covNorm * (uxy[i] - ux[i] * uy[i]);
      const s = ((2 * ux[i] * uy[i] + c1) * (2 * vxy + c2)) / ((ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vx + vy + c2));
      total += s;
      count++;
    }
  }
  return total / count;
}

export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}
