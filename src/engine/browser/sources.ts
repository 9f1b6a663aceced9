/**
 * Image sources a web page has (bitmaps, canvases, video frames, <img>/<video> elements,
 * ImageData, or plain RGBA tensors) turned into the RGBA pixels the model pipeline takes,
 * optionally cropped to a region first (a viewer explains the part of a large image in view).
 */
import { InvalidOptionError } from '../errors.js';
import type { RgbaImage } from '../display/overlay.js';

/** A rectangle in source pixels. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** RGBA8 pixels, row-major (ImageData's layout). */
export interface PixelTensor {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

export type ImageSource =
  | ImageBitmap
  | HTMLCanvasElement
  | OffscreenCanvas
  | HTMLImageElement
  | HTMLVideoElement
  | VideoFrame
  | ImageData
  | PixelTensor;

function isPixelTensor(source: ImageSource): source is PixelTensor | ImageData {
  return typeof source === 'object' && source !== null && 'data' in source && 'width' in source && 'height' in source;
}

/** The natural size of a drawable source (what drawImage copies). */
export function sourceSize(source: ImageSource): { width: number; height: number } {
  if (isPixelTensor(source)) return { width: source.width, height: source.height };
  if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement) return { width: source.naturalWidth, height: source.naturalHeight };
  if (typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement) return { width: source.videoWidth, height: source.videoHeight };
  if (typeof VideoFrame !== 'undefined' && source instanceof VideoFrame) return { width: source.displayWidth, height: source.displayHeight };
  const s = source as { width: number; height: number };
  return { width: s.width, height: s.height };
}

/** Elements that report a size before they have pixels would otherwise be read as transparent black. */
function assertLoaded(source: ImageSource): void {
  if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement && !(source.complete && source.naturalWidth > 0)) {
    throw new InvalidOptionError(`the <img> has not loaded yet (or failed to): await img.decode() before explaining it`);
  }
  if (typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement && source.readyState < 2) {
    throw new InvalidOptionError(`the <video> has no current frame yet (readyState ${source.readyState}): wait for its 'loadeddata' event`);
  }
  if (typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap && source.width === 0 && source.height === 0) {
    throw new InvalidOptionError('the ImageBitmap is closed (or empty): explain it before calling close()');
  }
}

function checkRegion(region: Region, width: number, height: number): Region {
  const { x, y, width: w, height: h } = region;
  if (![x, y, w, h].every(Number.isFinite) || w < 1 || h < 1) {
    throw new InvalidOptionError(`region must have finite x, y and a width and height of at least 1 pixel, got ${JSON.stringify(region)}`);
  }
  // Clip to the source: a viewer's viewport may extend past the image's edges.
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(width, Math.ceil(x + w));
  const y1 = Math.min(height, Math.ceil(y + h));
  if (x1 - x0 < 1 || y1 - y0 < 1) throw new InvalidOptionError(`region ${JSON.stringify(region)} lies outside the ${width}x${height} image`);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function cropPixels(source: PixelTensor, r: Region): RgbaImage {
  const out = new Uint8ClampedArray(r.width * r.height * 4);
  for (let row = 0; row < r.height; row++) {
    const from = ((r.y + row) * source.width + r.x) * 4;
    out.set(source.data.subarray(from, from + r.width * 4), row * r.width * 4);
  }
  return { width: r.width, height: r.height, data: out };
}

/**
 * RGBA pixels of `source` (of `region` of it when given, clipped to the image; the region's
 * rectangle actually used is returned too). Drawable sources go through a 2D canvas, so their
 * pixels are exactly what the browser decodes (no colour-space conversion beyond the browser's).
 */
export function readPixels(source: ImageSource, region?: Region): { image: RgbaImage; region: Region } {
  assertLoaded(source);
  const { width, height } = sourceSize(source);
  if (!(width >= 1 && height >= 1)) {
    throw new InvalidOptionError(`the image source has no pixels yet (${width}x${height}): wait until it has loaded (img.decode(), video 'loadeddata')`);
  }
  const r = region ? checkRegion(region, width, height) : { x: 0, y: 0, width, height };
  if (isPixelTensor(source)) {
    if (source.data.length !== width * height * 4) {
      throw new InvalidOptionError(`pixel data holds ${source.data.length} bytes; ${width}x${height} RGBA needs ${width * height * 4}`);
    }
    const whole = r.x === 0 && r.y === 0 && r.width === width && r.height === height;
    return { image: whole ? { width, height, data: source.data } : cropPixels(source, r), region: r };
  }
  const canvas = new OffscreenCanvas(r.width, r.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new InvalidOptionError('this browser gives no 2D canvas context to read the image with');
  ctx.drawImage(source as CanvasImageSource, r.x, r.y, r.width, r.height, 0, 0, r.width, r.height);
  const data = ctx.getImageData(0, 0, r.width, r.height).data;
  return { image: { width: r.width, height: r.height, data }, region: r };
}
