/**
 * The two gradient filters of CF-CAM (cfcam.md step 5), for one H x W map.
 *
 * (a) {@link referenceFilter}: what the reference `cfcam.py` calls a bilateral filter. It is a
 *     single data-dependent H x W kernel applied by one 'same' convolution, not a per-pixel
 *     bilateral filter. Mode `reference` uses it.
 * (b) {@link bilateralFilterOpenCv}: a true bilateral filter with OpenCV `cv2.bilateralFilter`
 *     semantics for a single-channel float32 image. Mode `bilateral` uses it.
 *
 * Both compute in float64 (the reference computes in float32; the difference is far below the
 * 1e-5 tolerance on weights). The OpenCV filter reproduces OpenCV's float32 lookup tables and
 * float32 per-tap weights exactly, and only accumulates in float64.
 */
import type { BilateralParams } from '../../types.js';

/** Spatial sigma and range sigma hard-coded in the reference `_bilateral_filter`. */
export const REFERENCE_SIGMA_SPATIAL = 5.0;
export const REFERENCE_SIGMA_RANGE = 0.1;

/** float32 machine epsilon (C's FLT_EPSILON): OpenCV's "constant image" threshold. */
export const FLT_EPSILON = 1.1920928955078125e-7;

/** Number of colour-LUT bins per channel in OpenCV's float bilateral filter. */
const OPENCV_EXP_BINS = 4096;

const f32 = Math.fround;

/**
 * The reference kernel K for a map g (H x W, row-major):
 * S(x,y) = exp(-((x - H/2)^2 + (y - W/2)^2) / (2*5^2)) — centred at H/2, W/2 exactly as the
 * reference (not at (H-1)/2); R(x,y) = exp(-(g(x,y) - mean g)^2 / (2*0.1^2));
 * K = S*R / (sum(S*R) + 1e-6).
 */
export function referenceKernel(g: ArrayLike<number>, H: number, W: number): Float64Array {
  const n = H * W;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += g[i];
  mean /= n;
  const spatialDenom = 2 * REFERENCE_SIGMA_SPATIAL * REFERENCE_SIGMA_SPATIAL;
  const rangeDenom = 2 * REFERENCE_SIGMA_RANGE * REFERENCE_SIGMA_RANGE;
  const kernel = new Float64Array(n);
  let sum = 0;
  for (let x = 0; x < H; x++) {
    for (let y = 0; y < W; y++) {
      const dx = x - H / 2;
      const dy = y - W / 2;
      const diff = g[x * W + y] - mean;
      const w = Math.exp(-(dx * dx + dy * dy) / spatialDenom) * Math.exp(-(diff * diff) / rangeDenom);
      kernel[x * W + y] = w;
      sum += w;
    }
  }
  const scale = 1 / (sum + 1e-6);
  for (let i = 0; i < n; i++) kernel[i] *= scale;
  return kernel;
}

/**
 * 2-D cross-correlation of an H x W image with an kh x kw kernel, PyTorch `padding='same'`
 * semantics: zero padding, floor((k-1)/2) on the top/left and the rest (one more for even k)
 * on the bottom/right, so out(x,y) = sum_{u,v} K(u,v) * img(x + u - floor((kh-1)/2), y + v - floor((kw-1)/2)).
 */
export function conv2dSame(img: ArrayLike<number>, H: number, W: number, kernel: ArrayLike<number>, kh: number, kw: number): Float64Array {
  const padTop = Math.floor((kh - 1) / 2);
  const padLeft = Math.floor((kw - 1) / 2);
  const out = new Float64Array(H * W);
  for (let x = 0; x < H; x++) {
    for (let y = 0; y < W; y++) {
      let acc = 0;
      for (let u = 0; u < kh; u++) {
        const sx = x + u - padTop;
        if (sx < 0 || sx >= H) continue;
        for (let v = 0; v < kw; v++) {
          const sy = y + v - padLeft;
          if (sy < 0 || sy >= W) continue;
          acc += kernel[u * kw + v] * img[sx * W + sy];
        }
      }
      out[x * W + y] = acc;
    }
  }
  return out;
}

/** The reference filter: g~ = conv2d(g, K(g), padding='same') with the kernel as big as the map. */
export function referenceFilter(g: ArrayLike<number>, H: number, W: number): Float64Array {
  return conv2dSame(g, H, W, referenceKernel(g, H, W), H, W);
}

/**
 * OpenCV's borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba): reflects
 * repeatedly until the index lands inside, and maps everything to 0 when len == 1.
 */
export function reflect101(p: number, len: number): number {
  if (p >= 0 && p < len) return p;
  if (len === 1) return 0;
  do {
    p = p < 0 ? -p : 2 * (len - 1) - p;
  } while (p < 0 || p >= len);
  return p;
}

/** cvRound: round to nearest, ties to even (the FPU's default mode). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The window radius OpenCV derives: d/2 (integer division) when d > 0, else cvRound(1.5*sigma_space); at least 1. */
export function bilateralRadius(d: number, sigmaSpace: number): number {
  const ss = sigmaSpace <= 0 ? 1 : sigmaSpace;
  const radius = d > 0 ? Math.floor(d / 2) : roundHalfEven(ss * 1.5);
  return Math.max(radius, 1);
}

/**
 * cv2.bilateralFilter(img, d, sigmaColor, sigmaSpace) for a single-channel float32 image
 * (border BORDER_DEFAULT = reflect-101), following OpenCV's bilateralFilter_32f:
 * - sigma <= 0 is replaced by 1;
 * - radius from {@link bilateralRadius}; circular window i^2 + j^2 <= r^2;
 * - space weight (float)exp(-(i^2+j^2) / (2 ss^2));
 * - colour weight from a 4096-bin LUT over the image range: len = (float)(max - min),
 *   scale_index = 4096/len (float), expLUT[i] = (float)exp(-((float)(i/scale_index))^2 / (2 sc^2))
 *   for i = 0..4097; for a tap value v and centre v0, alpha = (float)(|v - v0| * scale_index),
 *   idx = floor(alpha), weight = lut[idx] + (alpha - idx) * (lut[idx+1] - lut[idx]) (float);
 * - out = sum(w*v) / sum(w);
 * - if max - min < FLT_EPSILON the image is returned unchanged (OpenCV copies it).
 * The per-tap weights follow OpenCV's float32 arithmetic; the two sums are accumulated in
 * float64 (OpenCV accumulates in float32 in a vectorised order), which keeps results within
 * ~1e-6 relative of OpenCV.
 */
export function bilateralFilterOpenCv(src: ArrayLike<number>, H: number, W: number, params: BilateralParams): Float32Array {
  const n = H * W;
  const out = Float32Array.from(src as ArrayLike<number>);
  const sigmaColor = params.sigmaColor <= 0 ? 1 : params.sigmaColor;
  const sigmaSpace = params.sigmaSpace <= 0 ? 1 : params.sigmaSpace;
  const radius = bilateralRadius(params.d, sigmaSpace);

  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    min = Math.min(min, out[i]);
    max = Math.max(max, out[i]);
  }
  if (Math.abs(max - min) < FLT_EPSILON) return out;

  // Colour LUT over the image range, in OpenCV's float32 arithmetic.
  const colorCoeff = -0.5 / (sigmaColor * sigmaColor);
  const len = f32(max - min);
  const scaleIndex = f32(OPENCV_EXP_BINS / len);
  const lut = new Float32Array(OPENCV_EXP_BINS + 2);
  for (let i = 0; i < lut.length; i++) {
    const val = f32(i / scaleIndex);
    lut[i] = Math.exp(val * val * colorCoeff);
  }

  // Circular window offsets and their float32 space weights.
  const spaceCoeff = -0.5 / (sigmaSpace * sigmaSpace);
  const offsets: Array<{ di: number; dj: number; w: number }> = [];
  for (let i = -radius; i <= radius; i++) {
    for (let j = -radius; j <= radius; j++) {
      const r = Math.sqrt(i * i + j * j);
      if (r > radius) continue;
      offsets.push({ di: i, dj: j, w: f32(Math.exp(r * r * spaceCoeff)) });
    }
  }

  const img = Float32Array.from(src as ArrayLike<number>);
  for (let x = 0; x < H; x++) {
    for (let y = 0; y < W; y++) {
      const v0 = img[x * W + y];
      let sum = 0;
      let wsum = 0;
      for (const { di, dj, w: spaceW } of offsets) {
        const v = img[reflect101(x + di, H) * W + reflect101(y + dj, W)];
        let alpha = f32(Math.abs(f32(v - v0)) * scaleIndex);
        const idx = Math.floor(alpha);
        alpha = f32(alpha - idx);
        const colorW = f32(lut[idx] + f32(alpha * f32(lut[idx + 1] - lut[idx])));
        const w = f32(spaceW * colorW);
        sum += v * w;
        wsum += w;
      }
      out[x * W + y] = sum / wsum;
    }
  }
  return out;
}
