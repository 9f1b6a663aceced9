/**
 * Image pre-processing for classifiers, on the CPU (the twin of src/engine/model/preprocess.wgsl and
 * the test oracle for it): RGBA8 pixels -> bilinear resize (optionally then a centre crop) ->
 * per-channel normalisation -> float32 NCHW planes R, G, B.
 *
 * Resampling choice: bilinear with align_corners = false and NO antialiasing, i.e. PyTorch's
 * `F.interpolate(x, size, mode='bilinear', align_corners=False)`, which is torchvision's
 * `Resize(size, antialias=False)` on a float tensor (after `ToTensor()`): output pixel d samples
 * the source at (d + 0.5) * in/out - 0.5, clamped at 0, second tap clamped at the edge. This is
 * what a GPU gather does cheaply; it differs from PIL's (antialiased) resize when downscaling by
 * large factors, so models trained with PIL pre-processing see slightly sharper inputs.
 * Because the resize is linear, scaling to [0,1] before or after it gives the same result.
 *
 * Source coordinates are computed with exact integer arithmetic (both here and on the GPU):
 * src = ((2 * (d + offset) + 1) * in - resized) / (2 * resized). PyTorch computes the scale in
 * float32, which moves large images' weights by up to ~1e-5 of a pixel.
 */
import type { RgbaImage } from '../display/overlay.js';

export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

export interface PreprocessOptions {
  /** Output size: a square side or [height, width]. Default 224. */
  size?: number | readonly [number, number];
  /**
   * Resize target before a centre crop to `size`, as torchvision's `Resize(resize)` +
   * `CenterCrop(size)`: a number resizes the shorter side to it (the longer side to
   * int(resize * long / short)); [h, w] is exact. Default: resize straight to `size` (no crop).
   */
  resize?: number | readonly [number, number];
  /** Per-channel mean and std of the normalisation (v/255 - mean) / std; default ImageNet's. */
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}

/** The resolved geometry and normalisation of one pre-processing run. */
export interface PreprocessPlan {
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  /** Size of the (virtual) resized image the output is cropped from. */
  resizedHeight: number;
  resizedWidth: number;
  /** Top-left corner of the crop in the resized image. */
  offsetY: number;
  offsetX: number;
  mean: [number, number, number];
  std: [number, number, number];
}

function pair(v: number | readonly [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

function checkSize(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 16384) throw new RangeError(`preprocess: ${what} must be an integer in [1, 16384], got ${v}`);
}

/** Python's round() (half to even), which torchvision's CenterCrop uses for the offsets. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function preprocessPlan(inHeight: number, inWidth: number, options: PreprocessOptions = {}): PreprocessPlan {
  checkSize('image height', inHeight);
  checkSize('image width', inWidth);
  const [outHeight, outWidth] = pair(options.size ?? 224);
  checkSize('output height', outHeight);
  checkSize('output width', outWidth);
  let resizedHeight = outHeight;
  let resizedWidth = outWidth;
  if (options.resize !== undefined) {
    if (typeof options.resize === 'number') {
      const short = options.resize;
      if (inWidth <= inHeight) [resizedWidth, resizedHeight] = [short, Math.floor((short * inHeight) / inWidth)];
      else [resizedHeight, resizedWidth] = [short, Math.floor((short * inWidth) / inHeight)];
    } else [resizedHeight, resizedWidth] = pair(options.resize);
    checkSize('resize height', resizedHeight);
    checkSize('resize width', resizedWidth);
    if (resizedHeight < outHeight || resizedWidth < outWidth) {
      throw new RangeError(`preprocess: resize ${resizedHeight}x${resizedWidth} is smaller than the crop ${outHeight}x${outWidth}`);
    }
  }
  const mean = [...(options.mean ?? IMAGENET_MEAN)] as [number, number, number];
  const std = [...(options.std ?? IMAGENET_STD)] as [number, number, number];
  if (mean.length !== 3 || std.length !== 3 || !mean.every(Number.isFinite) || !std.every((s) => Number.isFinite(s) && s > 0)) {
    throw new RangeError('preprocess: mean and std must be 3 finite numbers each, std > 0');
  }
  return {
    inHeight,
    inWidth,
    outHeight,
    outWidth,
    resizedHeight,
    resizedWidth,
    offsetY: roundHalfEven((resizedHeight - outHeight) / 2),
    offsetX: roundHalfEven((resizedWidth - outWidth) / 2),
    mean,
    std,
  };
}

/** Source taps of output index d along one axis (exact rational coordinate, see above). */
export function preprocessTaps(d: number, offset: number, inSize: number, resized: number): { i0: number; i1: number; frac: number } {
  const den = 2 * resized;
  const num = Math.max((2 * (d + offset) + 1) * inSize - resized, 0);
  const i0 = Math.min(Math.floor(num / den), inSize - 1);
  return { i0, i1: Math.min(i0 + 1, inSize - 1), frac: (num - i0 * den) / den };
}

/** CPU pre-processing: Float32Array [3, outHeight, outWidth] (one NCHW image). */
export function preprocessCpu(image: RgbaImage, options: PreprocessOptions = {}): { data: Float32Array; plan: PreprocessPlan } {
  const plan = preprocessPlan(image.height, image.width, options);
  if (image.data.length !== 4 * image.width * image.height) {
    throw new RangeError(`preprocess: ${image.data.length} bytes for a ${image.width}x${image.height} RGBA image`);
  }
  const { outHeight: H, outWidth: W, inWidth } = plan;
  const px = image.data;
  const plane = H * W;
  const out = new Float32Array(3 * plane);
  const cols = Array.from({ length: W }, (_, x) => preprocessTaps(x, plan.offsetX, plan.inWidth, plan.resizedWidth));
  for (let y = 0; y < H; y++) {
    const r = preprocessTaps(y, plan.offsetY, plan.inHeight, plan.resizedHeight);
    for (let x = 0; x < W; x++) {
      const c = cols[x];
      const p00 = 4 * (r.i0 * inWidth + c.i0);
      const p01 = 4 * (r.i0 * inWidth + c.i1);
      const p10 = 4 * (r.i1 * inWidth + c.i0);
      const p11 = 4 * (r.i1 * inWidth + c.i1);
      for (let ch = 0; ch < 3; ch++) {
        const top = px[p00 + ch] + (px[p01 + ch] - px[p00 + ch]) * c.frac;
        const bottom = px[p10 + ch] + (px[p11 + ch] - px[p10 + ch]) * c.frac;
        const v = top + (bottom - top) * r.frac;
        out[ch * plane + y * W + x] = (v / 255 - plan.mean[ch]) / plan.std[ch];
      }
    }
  }
  return { data: out, plan };
}
