/**
 * Heatmap colouring and overlays, bit-exact with the Python reference (no DOM needed: works in
 * the browser and in Node).
 *
 * Reference (pytorch-grad-cam style, cfcam.md step 12):
 *   heat = cv2.applyColorMap(np.uint8(255 * map), cv2.COLORMAP_JET)   # then BGR -> RGB
 *   out  = np.uint8(opacity * heat + (1 - opacity) * image)          # float64, truncation
 * The JET table is OpenCV's own (src/engine/jet-table.ts, generated from cv2).
 */
import { JET_RGB } from './jet-table.js';
import { resizeBilinear } from '../methods/common/resize-cpu.js';

/** An 8-bit RGBA image, row-major, 4 bytes per pixel (ImageData's layout). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** A single-channel float map (values in [0,1]), row-major. */
export interface CamMap {
  width: number;
  height: number;
  data: Float32Array | Float64Array;
}

/**
 * `np.uint8(255 * v)` for a float32 map value v in [0,1]: the product rounded to float32 (as
 * numpy computes it for a float32 array), then truncated; out-of-range values clamp, NaN gives 0.
 */
export function jetLevel(value: number): number {
  const scaled = Math.floor(Math.fround(255 * value));
  return scaled >= 255 ? 255 : scaled > 0 ? scaled : 0;
}

/** OpenCV COLORMAP_JET colour [r, g, b] of a value in [0,1] (quantised like np.uint8(255*v)). */
export function jetColor(value: number): [number, number, number] {
  const k = 3 * jetLevel(value);
  return [JET_RGB[k], JET_RGB[k + 1], JET_RGB[k + 2]];
}

/** Colour a map with OpenCV's JET: RGBA bytes (alpha 255), 4 per value, ready for ImageData. */
export function colorizeJet(map: ArrayLike<number>): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(map.length * 4);
  for (let i = 0; i < map.length; i++) {
    const k = 3 * jetLevel(map[i]);
    out[4 * i] = JET_RGB[k];
    out[4 * i + 1] = JET_RGB[k + 1];
    out[4 * i + 2] = JET_RGB[k + 2];
    out[4 * i + 3] = 255;
  }
  return out;
}

export interface OverlayOptions {
  /** Weight of the heatmap (the image gets 1 - opacity). Default 0.4, as in the reference. */
  opacity?: number;
}

/**
 * Blend a JET-coloured map over an image: uint8(opacity * JET(uint8(255*map)) + (1 - opacity) * image)
 * per RGB channel (float64 arithmetic, then truncation like np.uint8); the image's alpha is kept.
 * A map of another size is first resized to the image size bilinearly (align_corners=false).
 * A bare array is taken to be image-sized.
 */
export function overlay(image: RgbaImage, map: CamMap | ArrayLike<number>, options: OverlayOptions = {}): RgbaImage {
  const opacity = options.opacity ?? 0.4;
  if (!(opacity >= 0 && opacity <= 1)) throw new RangeError(`overlay: opacity must be in [0,1], got ${opacity}`);
  const { width, height } = image;
  const n = width * height;
  if (image.data.length !== 4 * n) {
    throw new RangeError(`overlay: image data has ${image.data.length} bytes, expected ${4 * n} for ${width}x${height} RGBA`);
  }
  let values: ArrayLike<number>;
  if ('width' in map && 'height' in map && 'data' in map) {
    const m = map as CamMap;
    if (m.data.length !== m.width * m.height) {
      throw new RangeError(`overlay: map data has ${m.data.length} values, expected ${m.width}x${m.height}`);
    }
    values = m.width === width && m.height === height ? m.data : resizeBilinear(m.data, m.height, m.width, height, width);
  } else {
    values = map as ArrayLike<number>;
    if (values.length !== n) {
      throw new RangeError(`overlay: map has ${values.length} values, expected ${n} (${width}x${height}); pass { data, width, height } to resize`);
    }
  }
  const rest = 1 - opacity;
  const out = new Uint8ClampedArray(4 * n);
  const src = image.data;
  for (let i = 0; i < n; i++) {
    const k = 3 * jetLevel(values[i]);
    const p = 4 * i;
    // Values stay within [0,255]; Math.floor is np.uint8's truncation toward zero.
    out[p] = Math.floor(opacity * JET_RGB[k] + rest * src[p]);
    out[p + 1] = Math.floor(opacity * JET_RGB[k + 1] + rest * src[p + 1]);
    out[p + 2] = Math.floor(opacity * JET_RGB[k + 2] + rest * src[p + 2]);
    out[p + 3] = src[p + 3];
  }
  return { width, height, data: out };
}
