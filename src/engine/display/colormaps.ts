/**
 * Colour maps and overlay compositing for heatmaps (plain TypeScript: browser and Node, no DOM).
 *
 * `colorize` turns a float map into an RGBA heat layer (colour table, opacity, threshold, an
 * optional iso-line); `blendOver` composites such a layer over an image with straight alpha.
 * The GPU twin (display/colorize-kernel.ts + display/colorize.wgsl) produces the same
 * bytes: every step below is either integer arithmetic or a single correctly rounded float32
 * multiplication / comparison, which WGSL evaluates exactly like Math.fround here.
 *
 * Tables: 'jet' is OpenCV's COLORMAP_JET (src/engine/jet-table.ts, the table overlay.ts uses);
 * 'turbo', 'viridis', 'inferno' and 'diverging' (matplotlib's 'RdBu_r': negative = blue,
 * zero = near white, positive = red) are matplotlib's uint8 tables (src/engine/colormap-tables.ts).
 *
 * Value -> table level:
 *  - unsigned (default): the float32 value v is expected in [0,1] and quantised like the JET
 *    overlay, `np.uint8(255 * v)`: level = floor(fround(255 * clamp(v, 0, 1))) (jetLevel).
 *  - signed: m = max |v| over the map (or options.maxAbs). With a = |v|, q is the largest k in
 *    0..127 such that a >= fround(m * k/128) (i.e. floor(128 * a/m) clamped to 127, without a
 *    division); level = 128 + q for v >= 0 and 127 - q for v < 0. So zero is entry 128, +m is
 *    255, -m is 0, and the levels of v and -v (v != 0) always mirror: level(-v) = 255 - level(v).
 *    When m = 0 every pixel is level 128.
 * Non-finite input: NaN reads as 0, +-Infinity as +-3.4028235e38 (float32's largest), in the
 * maximum too. (Subnormal inputs or thresholds may compare differently on GPUs that flush them.)
 */
import { InvalidOptionError } from '../errors.js';
import { JET_RGB } from './jet-table.js';
import { DIVERGING_RGB, INFERNO_RGB, TURBO_RGB, VIRIDIS_RGB } from './colormap-tables.js';
import { jetLevel, type RgbaImage } from './overlay.js';
import { resizeBilinear } from '../methods/common/resize-cpu.js';

export type { RgbaImage } from './overlay.js';

/** The colour maps, in table order (the GPU's table buffer holds them in this order). */
export const COLORMAPS = ['jet', 'turbo', 'viridis', 'inferno', 'diverging'] as const;
export type Colormap = (typeof COLORMAPS)[number];

/** RGB tables, 256 entries of 3 bytes each (entry i = colour of level i). */
export const COLORMAP_TABLES: Readonly<Record<Colormap, Uint8Array>> = {
  jet: JET_RGB,
  turbo: TURBO_RGB,
  viridis: VIRIDIS_RGB,
  inferno: INFERNO_RGB,
  diverging: DIVERGING_RGB,
};

export interface ContourOptions {
  /**
   * The iso-level, in the colour scale's units: a value (compared with the float32 map value as
   * is) for unsigned maps; a signed fraction of m in [-1,1] for signed maps (the pixel value is
   * compared with fround(level * m)).
   */
  level: number;
  /** Opaque line colour, three integers 0..255. */
  color: readonly [number, number, number];
  /** Line width in pixels; only 1 is supported. */
  width?: 1;
}

export interface ColorizeOptions {
  /** Colour table; default 'jet'. */
  colormap?: Colormap;
  /** Alpha of the heat layer, 0..1 (stored as the byte round(255 * opacity)); default 1. */
  opacity?: number;
  /**
   * 0..1; default 0 (nothing hidden). Pixels below it are fully transparent (all four bytes 0):
   * clamp(v, 0, 1) < threshold for unsigned maps; |v| < fround(threshold * m) for signed maps
   * (and every pixel when m = 0 and threshold > 0).
   */
  threshold?: number;
  /**
   * Draw the iso-line at `level`, opaque, over everything else: a pixel is on it when its value
   * is >= the level and one of its 4 neighbours (inside the map) is < the level.
   */
  contour?: ContourOptions;
  /** Map values are signed, coloured symmetrically around 0 (see the module comment); default false. */
  signed?: boolean;
  /** Signed maps only: use this m instead of the map's max |value| (e.g. one scale for many maps); > 0. */
  maxAbs?: number;
}

/** ColorizeOptions with defaults applied and derived values, shared by the CPU and GPU paths. */
export interface ResolvedColorize {
  colormap: Colormap;
  /** Index of the colour map in COLORMAPS. */
  tableIndex: number;
  /** Heat-layer alpha byte, round(255 * opacity). */
  alpha: number;
  /** float32 threshold. */
  threshold: number;
  signed: boolean;
  /** float32 maxAbs, or undefined to take the map's own max |value|. */
  maxAbs?: number;
  contour?: { level: number; color: [number, number, number] };
}

const F32_MAX = 3.4028234663852886e38;

function optionError(message: string): InvalidOptionError {
  return new InvalidOptionError(`colorize: ${message}`);
}

/** Check a map's size; `length` is the number of values given. */
export function checkMapSize(width: number, height: number, length: number, what = 'colorize'): void {
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new InvalidOptionError(`${what}: ${name} must be a positive integer, got ${v}`);
    }
  }
  if (length !== width * height) {
    throw new InvalidOptionError(`${what}: map has ${length} values, expected ${width * height} for ${width}x${height}`);
  }
}

/** Validate options and apply defaults (throws InvalidOptionError with what to fix). */
export function resolveColorizeOptions(options: ColorizeOptions = {}): ResolvedColorize {
  const colormap = options.colormap ?? 'jet';
  const tableIndex = COLORMAPS.indexOf(colormap);
  if (tableIndex < 0) {
    throw optionError(`unknown colormap '${String(colormap)}'; choose one of ${COLORMAPS.join(', ')}`);
  }
  const opacity = options.opacity ?? 1;
  if (typeof opacity !== 'number' || !(opacity >= 0 && opacity <= 1)) {
    throw optionError(`opacity must be a number in [0,1], got ${opacity}`);
  }
  const threshold = options.threshold ?? 0;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw optionError(`threshold must be a number in [0,1], got ${threshold}`);
  }
  const signed = options.signed ?? false;
  if (typeof signed !== 'boolean') throw optionError(`signed must be true or false, got ${String(signed)}`);
  let maxAbs: number | undefined;
  if (options.maxAbs !== undefined) {
    if (!signed) throw optionError('maxAbs applies to signed maps only; pass signed: true or drop maxAbs');
    maxAbs = Math.fround(options.maxAbs);
    if (!(maxAbs > 0 && maxAbs <= F32_MAX)) {
      throw optionError(`maxAbs must be a positive finite float32, got ${options.maxAbs}`);
    }
  }
  let contour: ResolvedColorize['contour'];
  if (options.contour !== undefined) {
    const c = options.contour;
    if (c === null || typeof c !== 'object') throw optionError('contour must be { level, color: [r, g, b] }');
    const level = c.level;
    if (typeof level !== 'number' || !Number.isFinite(Math.fround(level))) {
      throw optionError(`contour.level must be a finite (float32) number, got ${String(level)}`);
    }
    if (signed && !(level >= -1 && level <= 1)) {
      throw optionError(`contour.level of a signed map is a fraction of max |value| in [-1,1], got ${level}`);
    }
    const color = c.color;
    if (!Array.isArray(color) || color.length !== 3 || !color.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
      throw optionError(`contour.color must be three integers 0..255, got ${JSON.stringify(color)}`);
    }
    if (c.width !== undefined && c.width !== 1) {
      throw optionError(`contour.width ${String(c.width)} is not supported; only 1`);
    }
    contour = { level: Math.fround(level), color: [color[0], color[1], color[2]] };
  }
  return {
    colormap,
    tableIndex,
    alpha: Math.round(255 * opacity),
    threshold: Math.fround(threshold),
    signed,
    maxAbs,
    contour,
  };
}

/** A float32 map value with NaN read as 0 and infinities clamped to float32's largest value. */
export function sanitizeValue(value: number): number {
  const v = Math.fround(value);
  if (v !== v) return 0;
  return v > F32_MAX ? F32_MAX : v < -F32_MAX ? -F32_MAX : v;
}

/** max |v| over a map (values sanitised as in `sanitizeValue`). */
export function maxAbsOf(map: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < map.length; i++) {
    const a = Math.abs(sanitizeValue(map[i]));
    if (a > m) m = a;
  }
  return m;
}

/** Table level of a sanitised float32 value of a signed map whose max |value| is m (float32). */
export function signedLevel(v: number, m: number): number {
  if (m === 0) return 128;
  const a = Math.abs(v);
  // Largest k in 0..127 with a >= fround(m * k / 128); the bounds grow with k.
  let lo = 0;
  let hi = 127;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a >= Math.fround(m * (mid / 128))) lo = mid;
    else hi = mid - 1;
  }
  return v < 0 ? 127 - lo : 128 + lo;
}

/**
 * Colour a float map (values read as float32, like the GPU's input): RGBA bytes, 4 per value,
 * row-major (ImageData's layout). Transparent pixels are 0,0,0,0. See the module
 * comment for the value -> colour mapping and ColorizeOptions for opacity / threshold / contour.
 * With the defaults ('jet', opacity 1, threshold 0, unsigned) this is overlay.ts's colorizeJet.
 */
export function colorize(
  map: ArrayLike<number>,
  width: number,
  height: number,
  options: ColorizeOptions = {},
): Uint8ClampedArray<ArrayBuffer> {
  const o = resolveColorizeOptions(options);
  checkMapSize(width, height, map.length);
  const n = width * height;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = sanitizeValue(map[i]);
  const table = COLORMAP_TABLES[o.colormap];
  const m = o.signed ? (o.maxAbs ?? maxAbsOf(values)) : 0;
  const t = o.threshold;
  const hideAll = o.signed && m === 0 && t > 0;
  const tm = Math.fround(t * m);
  const out = new Uint8ClampedArray(4 * n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const hidden = o.signed ? hideAll || Math.abs(v) < tm : Math.min(Math.max(v, 0), 1) < t;
    if (hidden) continue;
    const k = 3 * (o.signed ? signedLevel(v, m) : jetLevel(v));
    const p = 4 * i;
    out[p] = table[k];
    out[p + 1] = table[k + 1];
    out[p + 2] = table[k + 2];
    out[p + 3] = o.alpha;
  }
  if (o.contour) {
    const level = o.signed ? Math.fround(o.contour.level * m) : o.contour.level;
    const [r, g, b] = o.contour.color;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!(values[i] >= level)) continue;
        const edge =
          (x > 0 && values[i - 1] < level) ||
          (x + 1 < width && values[i + 1] < level) ||
          (y > 0 && values[i - width] < level) ||
          (y + 1 < height && values[i + width] < level);
        if (!edge) continue;
        const p = 4 * i;
        out[p] = r;
        out[p + 1] = g;
        out[p + 2] = b;
        out[p + 3] = 255;
      }
    }
  }
  return out;
}

/** round(num / den) for non-negative integers, halves rounding up (exact in float64 here). */
function roundDiv(num: number, den: number): number {
  return Math.floor((2 * num + den) / (2 * den));
}

/**
 * Composite `heat` over `base` (straight, non-premultiplied alpha, Porter-Duff "over"), both
 * RGBA of the same size. With alphas A (heat) and B (base) as bytes and D = 255*A + B*(255 - A):
 *   out alpha = round(D / 255),  out colour = round((255*A*heat + B*(255 - A)*base) / D),
 * rounded half up in exact integer arithmetic; a pixel with D = 0 (both transparent) is 0,0,0,0.
 * Over an opaque base this is round((A*heat + (255 - A)*base) / 255) with alpha 255; a pixel
 * of heat alpha 0 (below threshold) leaves the base pixel as it is.
 * `heat` may be a bare byte array (colorize's output), taken to be base-sized.
 */
export function blendOver(
  base: RgbaImage,
  heat: RgbaImage | Uint8Array | Uint8ClampedArray,
): RgbaImage & { data: Uint8ClampedArray<ArrayBuffer> } {
  const { width, height } = base;
  if (base.data.length !== 4 * width * height || !(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1)) {
    throw new InvalidOptionError(
      `blendOver: base image data has ${base.data.length} bytes, expected ${4 * width * height} for ${width}x${height} RGBA`,
    );
  }
  let h: Uint8Array | Uint8ClampedArray;
  if ('data' in heat && 'width' in heat) {
    if (heat.width !== width || heat.height !== height) {
      throw new InvalidOptionError(
        `blendOver: heat layer is ${heat.width}x${heat.height}, base image is ${width}x${height}; colorize at the image size`,
      );
    }
    h = heat.data;
  } else {
    h = heat as Uint8Array | Uint8ClampedArray;
  }
  if (h.length !== base.data.length) {
    throw new InvalidOptionError(
      `blendOver: heat layer has ${h.length} bytes, expected ${base.data.length} (${width}x${height} RGBA)`,
    );
  }
  const src = base.data;
  const out = new Uint8ClampedArray(src.length);
  for (let p = 0; p < src.length; p += 4) {
    const A = h[p + 3];
    const B = src[p + 3];
    if (A === 255) {
      out[p] = h[p];
      out[p + 1] = h[p + 1];
      out[p + 2] = h[p + 2];
      out[p + 3] = 255;
      continue;
    }
    const wh = 255 * A;
    const wb = B * (255 - A);
    const D = wh + wb;
    if (D === 0) continue;
    out[p] = roundDiv(wh * h[p] + wb * src[p], D);
    out[p + 1] = roundDiv(wh * h[p + 1] + wb * src[p + 1], D);
    out[p + 2] = roundDiv(wh * h[p + 2] + wb * src[p + 2], D);
    out[p + 3] = roundDiv(D, 255);
  }
  return { width, height, data: out };
}

export interface ColormapOverlayOptions {
  colormap?: Colormap;
  /** Heat layer weight (default 0.4, as the JET reference overlay). */
  opacity?: number;
  threshold?: number;
  contour?: ContourOptions;
  /** The map is signed (Soft-CAM evidence): coloured symmetrically around zero. */
  signed?: boolean;
}

/**
 * A map over an image of another size with any colour map: the map resized to the image
 * (bilinear, align_corners = false), coloured, then composited with `blendOver`. For JET on an
 * unsigned map use overlay() instead: it reproduces the reference's exact uint8 blend.
 */
export function colormapOverlay(image: RgbaImage, map: { width: number; height: number; data: ArrayLike<number> }, options: ColormapOverlayOptions = {}): RgbaImage {
  const { width, height } = image;
  const values = map.width === width && map.height === height ? map.data : resizeBilinear(map.data, map.height, map.width, height, width);
  const heat = colorize(values, width, height, { ...options, opacity: options.opacity ?? 0.4 });
  return blendOver(image, heat);
}
