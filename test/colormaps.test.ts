/**
 * Colour maps (src/engine/display/colormaps.ts), their GPU twin (src/engine/display/colorize-kernel.ts +
 * src/engine/display/colorize.wgsl) and straight-alpha compositing. The GPU must give the CPU's bytes
 * exactly; Dawn runs on SwiftShader here, so maps are small.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './helpers/gpu';
import { prng, gaussian, randomImage } from './helpers/random';
import { Recorder } from '../src/engine/gpu/recorder';
import { BufferUsage } from '../src/engine/gpu/flags';
import { writeFloats } from '../src/engine/gpu/upload';
import { InvalidOptionError } from '../src/engine/errors';
import { JET_RGB } from '../src/engine/display/jet-table';
import { COLORMAP_SPOT_CHECKS } from '../src/engine/display/colormap-tables';
import { colorizeJet, overlay } from '../src/engine/display/overlay';
import {
  COLORMAPS,
  COLORMAP_TABLES,
  blendOver,
  colorize,
  maxAbsOf,
  signedLevel,
  type ColorizeOptions,
  type Colormap,
} from '../src/engine/display/colormaps';
import {
  alignedBytesPerRow,
  colorizeToTexture,
  createHeatmapTexture,
  packedColormapTables,
  recordColorize,
  recordColorizeToTexture,
  recordCopyToTexture,
  type ColorizedBuffer,
} from '../src/engine/display/colorize-kernel';
import * as demo from '../src/demo/colormap';

const f32 = Math.fround;

function rgbAt(table: Uint8Array, level: number): number[] {
  return [table[3 * level], table[3 * level + 1], table[3 * level + 2]];
}

function pixel(rgba: ArrayLike<number>, i: number): number[] {
  return [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]];
}

// ---------------------------------------------------------------------------------------------
// Tables

describe('colour tables', () => {
  it('has 256 RGB entries for every colour map, and JET is OpenCV table overlay.ts uses', () => {
    expect([...COLORMAPS]).toEqual(['jet', 'turbo', 'viridis', 'inferno', 'diverging']);
    for (const name of COLORMAPS) expect(COLORMAP_TABLES[name].length).toBe(256 * 3);
    expect(COLORMAP_TABLES.jet).toBe(JET_RGB);
    // The tables are different maps, not copies of one another.
    const keys = new Set(COLORMAPS.map((n) => Array.from(COLORMAP_TABLES[n]).join(',')));
    expect(keys.size).toBe(COLORMAPS.length);
  });

  it("equals matplotlib's uint8 tables at endpoints and mid samples", () => {
    // Expected values read from matplotlib 3.6.3 (cmap(i, bytes=True)[:3]) when
    // models/testing/make_colormap_tables.py was run; 'diverging' is matplotlib's 'RdBu_r'.
    const expected: Record<Exclude<Colormap, 'jet'>, Array<[number, number[]]>> = {
      turbo: [[0, [48, 18, 59]], [64, [40, 187, 235]], [127, [161, 252, 61]], [128, [164, 252, 59]], [191, [251, 128, 34]], [255, [122, 4, 2]]],
      viridis: [[0, [68, 1, 84]], [64, [58, 82, 139]], [127, [32, 143, 140]], [128, [32, 144, 140]], [191, [91, 200, 98]], [255, [253, 231, 36]]],
      inferno: [[0, [0, 0, 3]], [64, [87, 15, 109]], [127, [186, 54, 85]], [128, [187, 55, 84]], [191, [249, 140, 9]], [255, [252, 254, 164]]],
      diverging: [[0, [5, 48, 97]], [64, [107, 172, 208]], [127, [246, 246, 246]], [128, [247, 246, 246]], [191, [229, 131, 104]], [255, [103, 0, 31]]],
    };
    for (const [name, samples] of Object.entries(expected)) {
      for (const [level, rgb] of samples) expect(rgbAt(COLORMAP_TABLES[name as Colormap], level), `${name}[${level}]`).toEqual(rgb);
    }
    // And the spot checks the generator wrote next to the tables.
    expect(COLORMAP_SPOT_CHECKS.length).toBe(32);
    for (const [name, level, r, g, b] of COLORMAP_SPOT_CHECKS) {
      expect(rgbAt(COLORMAP_TABLES[name as Colormap], level), `${name}[${level}]`).toEqual([r, g, b]);
    }
  });

  it('has a diverging map that is blue below the middle, near white at it and red above', () => {
    const t = COLORMAP_TABLES.diverging;
    for (let i = 0; i < 100; i++) expect(t[3 * i + 2]).toBeGreaterThan(t[3 * i]); // blue > red
    for (let i = 156; i < 256; i++) expect(t[3 * i]).toBeGreaterThan(t[3 * i + 2]); // red > blue
    for (const i of [127, 128]) for (const c of rgbAt(t, i)) expect(c).toBeGreaterThanOrEqual(240);
  });

  it('packs the tables for the GPU as r | g << 8 | b << 16 in COLORMAPS order', () => {
    const packed = packedColormapTables();
    expect(packed.length).toBe(256 * COLORMAPS.length);
    const bytes = new Uint8Array(packed.buffer);
    COLORMAPS.forEach((name, t) => {
      for (const level of [0, 77, 255]) {
        const p = 4 * (256 * t + level);
        expect([bytes[p], bytes[p + 1], bytes[p + 2], bytes[p + 3]]).toEqual([...rgbAt(COLORMAP_TABLES[name], level), 0]);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// CPU colorize

/** Values that stress the quantisation: level boundaries (float32 k/255 and its neighbours), out of range, non-finite. */
function trickyUnsignedMap(n: number, seed: number): Float32Array {
  const rand = prng(seed);
  const out = new Float32Array(n);
  const specials = [Number.NaN, Infinity, -Infinity, -0, 0, 1, -0.25, 1.75, 3e38, -3e38, 1e-30];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.1) out[i] = specials[Math.floor(rand() * specials.length)];
    else if (r < 0.4) {
      const k = Math.floor(rand() * 256);
      const base = f32(k / 255);
      // base, or one float32 ulp either side of it.
      const d = new Float32Array([base]);
      const bits = new Uint32Array(d.buffer);
      bits[0] += Math.floor(rand() * 3) - 1;
      out[i] = base === 0 ? 0 : d[0];
    } else out[i] = rand() * 1.2 - 0.1;
  }
  return out;
}

function signedMap(n: number, seed: number, scale = 3): Float32Array {
  const rand = prng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * gaussian(rand);
  // Values exactly on the signed level boundaries m*k/128 (and their negatives), and zeros.
  const m = maxAbsOf(out);
  for (let i = 0; i < n; i += 7) out[i] = (i % 2 ? -1 : 1) * f32(m * (Math.floor(rand() * 128) / 128));
  for (let i = 3; i < n; i += 11) out[i] = i % 2 ? -0 : 0;
  return out;
}

describe('colorize (CPU)', () => {
  it("is overlay.ts's colorizeJet with the defaults, out-of-range and non-finite values included", () => {
    const map = trickyUnsignedMap(37 * 23, 11);
    const jet = colorizeJet(map);
    expect(Array.from(colorize(map, 37, 23))).toEqual(Array.from(jet));
    expect(Array.from(colorize(map, 23, 37, { colormap: 'jet', opacity: 1, threshold: 0 }))).toEqual(Array.from(jet));
    // The demo module re-exports both APIs.
    expect(Array.from(demo.colorize(map, 37, 23))).toEqual(Array.from(demo.colorizeJet(map)));
    expect(demo.COLORMAPS).toBe(COLORMAPS);
    expect(demo.jetColor(1)).toEqual([128, 0, 0]);
  });

  it('looks up every colour map at np.uint8(255 * v)', () => {
    const map = new Float32Array([0, 0.5, 1, 64 / 255, 2, -1]);
    // np.uint8(255 * float32(v)): 0, 127, 255, 64, clamp 255, clamp 0.
    const levels = [0, 127, 255, 64, 255, 0];
    for (const name of COLORMAPS) {
      const out = colorize(map, 3, 2, { colormap: name });
      levels.forEach((level, i) => expect(pixel(out, i)).toEqual([...rgbAt(COLORMAP_TABLES[name], level), 255]));
    }
  });

  it('sets the heat alpha to round(255 * opacity) and keeps the colours', () => {
    const map = new Float32Array([0.1, 0.9]);
    const opaque = colorize(map, 2, 1, { colormap: 'viridis' });
    for (const [opacity, alpha] of [[0.4, 102], [0.5, 128], [0, 0], [1, 255], [0.999, 255], [0.001, 0]]) {
      const out = colorize(map, 2, 1, { colormap: 'viridis', opacity });
      for (let i = 0; i < 2; i++) expect(pixel(out, i)).toEqual([...pixel(opaque, i).slice(0, 3), alpha]);
    }
  });

  it('makes pixels below the threshold fully transparent (unsigned: clamp(v,0,1) < threshold)', () => {
    const map = new Float32Array([0, 0.1, 0.2, 0.5, 1, -0.3, 1.5, Number.NaN]);
    const out = colorize(map, 4, 2, { colormap: 'inferno', threshold: 0.2, opacity: 0.5 });
    const hidden = [true, true, false, false, false, true, false, true];
    hidden.forEach((h, i) => {
      if (h) expect(pixel(out, i)).toEqual([0, 0, 0, 0]);
      else expect(pixel(out, i)).toEqual([...rgbAt(COLORMAP_TABLES.inferno, Math.min(255, Math.floor(f32(255 * Math.min(map[i], 1))))), 128]);
    });
    // Threshold 0 hides nothing, not even negative values; threshold 1 keeps only values >= 1.
    expect(Array.from(colorize(map, 4, 2, { threshold: 0 }).filter((_, k) => k % 4 === 3))).toEqual(new Array(8).fill(255));
    const top = colorize(map, 4, 2, { threshold: 1 });
    expect(Array.from(top.filter((_, k) => k % 4 === 3))).toEqual([0, 0, 0, 0, 255, 0, 255, 0]);
  });

  it('draws the iso-line: pixels >= level with a 4-neighbour < level, opaque, over threshold and opacity', () => {
    // 6x5 map: a 3x3 block of 0.8 at columns 1..3, rows 1..3, a 0.9 pixel at the right border.
    const W = 6;
    const H = 5;
    const map = new Float32Array(W * H).fill(0.1);
    for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) map[y * W + x] = 0.8;
    map[2 * W + 5] = 0.9;
    const red: [number, number, number] = [255, 0, 0];
    const out = colorize(map, W, H, { threshold: 0.5, opacity: 0.4, contour: { level: 0.5, color: red } });
    const rows: string[] = [];
    for (let y = 0; y < H; y++) {
      let row = '';
      for (let x = 0; x < W; x++) {
        const p = pixel(out, y * W + x);
        row += p[3] === 0 ? '.' : p[3] === 255 && p[0] === 255 && p[1] === 0 && p[2] === 0 ? '#' : 'o';
      }
      rows.push(row);
    }
    expect(rows).toEqual(['......', '.###..', '.#o#.#', '.###..', '......']);
    // The block's centre keeps its colour at opacity 0.4.
    expect(pixel(out, 2 * W + 2)).toEqual([...rgbAt(JET_RGB, Math.floor(f32(255 * f32(0.8)))), 102]);
    // A constant map has no contour; a level above every value neither.
    const flat = new Float32Array(W * H).fill(0.7);
    expect(Array.from(colorize(flat, W, H, { contour: { level: 0.5, color: red } }))).toEqual(Array.from(colorize(flat, W, H)));
    expect(Array.from(colorize(map, W, H, { contour: { level: 0.95, color: red } }))).toEqual(Array.from(colorize(map, W, H)));
    // At level exactly 0.8 (as float32), the block's border is still on the line (>= level).
    const at = colorize(map, W, H, { contour: { level: 0.8, color: [0, 255, 0], width: 1 } });
    expect(pixel(at, W + 1)).toEqual([0, 255, 0, 255]);
    expect(pixel(at, 2 * W + 2)).not.toEqual([0, 255, 0, 255]);
  });

  it('maps signed values symmetrically around 0 with the diverging table', () => {
    const map = new Float32Array([-2, -1, 0, 1, 2, -0]);
    const out = colorize(map, 6, 1, { colormap: 'diverging', signed: true });
    // m = 2: -2 -> 0, -1 -> 127 - 64, 0 -> 128, 1 -> 128 + 64, 2 -> 255; -0 counts as 0.
    [0, 63, 128, 192, 255, 128].forEach((level, i) => expect(pixel(out, i)).toEqual([...rgbAt(COLORMAP_TABLES.diverging, level), 255]));
    // Negative = blue, positive = red, zero = near white.
    expect(pixel(out, 0)[2]).toBeGreaterThan(pixel(out, 0)[0]);
    expect(pixel(out, 4)[0]).toBeGreaterThan(pixel(out, 4)[2]);
    expect(Math.min(...pixel(out, 2).slice(0, 3))).toBeGreaterThanOrEqual(240);

    // Mirror symmetry on random data: level(-v) = 255 - level(v) for v != 0, so colorize(-x) is
    // colorize(x) with the table read backwards.
    const x = signedMap(29 * 17, 5);
    const m = maxAbsOf(x);
    for (const v of x) if (v !== 0) expect(signedLevel(-v, m)).toBe(255 - signedLevel(v, m));
    const neg = x.map((v) => -v);
    const a = colorize(x, 29, 17, { colormap: 'diverging', signed: true });
    const b = colorize(neg, 29, 17, { colormap: 'diverging', signed: true });
    const t = COLORMAP_TABLES.diverging;
    for (let i = 0; i < x.length; i++) {
      const level = x[i] === 0 ? 128 : 255 - signedLevel(x[i], m);
      expect(pixel(b, i)).toEqual([...rgbAt(t, level), 255]);
      if (x[i] === 0) expect(pixel(a, i)).toEqual(pixel(b, i));
    }
    // Scaling the map by a power of two changes nothing (the scale is its own max |value|).
    const scaled = x.map((v) => v * 8);
    expect(Array.from(colorize(scaled, 29, 17, { colormap: 'diverging', signed: true }))).toEqual(Array.from(a));
  });

  it('uses maxAbs when given, hides small |v| with the threshold, and an all-zero map is neutral', () => {
    const map = new Float32Array([-2, -1, 0, 1, 2]);
    const wide = colorize(map, 5, 1, { colormap: 'diverging', signed: true, maxAbs: 4 });
    // m = 4: -2 -> 127 - 64, -1 -> 127 - 32, 1 -> 128 + 32, 2 -> 128 + 64.
    [63, 95, 128, 160, 192].forEach((level, i) => expect(pixel(wide, i).slice(0, 3)).toEqual(rgbAt(COLORMAP_TABLES.diverging, level)));
    // threshold 0.6 of m = 2: |v| < 1.2 hidden.
    const th = colorize(map, 5, 1, { colormap: 'diverging', signed: true, threshold: 0.6 });
    expect(Array.from(th.filter((_, k) => k % 4 === 3))).toEqual([255, 0, 0, 0, 255]);
    // threshold 0.5: |v| < 1 hidden, so only 0.
    const half = colorize(map, 5, 1, { colormap: 'diverging', signed: true, threshold: 0.5 });
    expect(Array.from(half.filter((_, k) => k % 4 === 3))).toEqual([255, 255, 0, 255, 255]);
    const zeros = new Float32Array(6);
    const neutral = colorize(zeros, 3, 2, { colormap: 'diverging', signed: true });
    for (let i = 0; i < 6; i++) expect(pixel(neutral, i)).toEqual([...rgbAt(COLORMAP_TABLES.diverging, 128), 255]);
    expect(Array.from(colorize(zeros, 3, 2, { colormap: 'diverging', signed: true, threshold: 0.1 }))).toEqual(new Array(24).fill(0));
    // The zero crossing as a contour (signed level 0): the non-negative side of the sign change.
    const line = colorize(map, 5, 1, { colormap: 'diverging', signed: true, contour: { level: 0, color: [0, 0, 0] } });
    expect([0, 1, 2, 3, 4].map((i) => pixel(line, i)[0] === 0 && pixel(line, i)[3] === 255)).toEqual([false, false, true, false, false]);
  });

  it('rejects bad options with InvalidOptionError and says what to do', () => {
    const map = new Float32Array(6);
    const bad: Array<[ColorizeOptions, RegExp]> = [
      [{ colormap: 'hot' as Colormap }, /unknown colormap 'hot'; choose one of jet, turbo, viridis, inferno, diverging/],
      [{ opacity: 1.5 }, /opacity must be a number in \[0,1\], got 1.5/],
      [{ opacity: -0.1 }, /opacity/],
      [{ opacity: Number.NaN }, /opacity/],
      [{ threshold: 2 }, /threshold must be a number in \[0,1\]/],
      [{ maxAbs: 2 }, /maxAbs applies to signed maps only/],
      [{ signed: true, maxAbs: 0 }, /maxAbs must be a positive finite/],
      [{ contour: { level: Number.NaN, color: [0, 0, 0] } }, /contour.level must be a finite/],
      [{ contour: { level: 1e39, color: [0, 0, 0] } }, /contour.level must be a finite/],
      [{ signed: true, contour: { level: 1.5, color: [0, 0, 0] } }, /fraction of max \|value\| in \[-1,1\]/],
      [{ contour: { level: 0.5, color: [0, 300, 0] } }, /contour.color must be three integers 0..255/],
      [{ contour: { level: 0.5, color: [0, 0] as unknown as [number, number, number] } }, /contour.color/],
      [{ contour: { level: 0.5, color: [0, 0, 0], width: 2 as 1 } }, /contour.width 2 is not supported; only 1/],
    ];
    for (const [options, message] of bad) {
      expect(() => colorize(map, 3, 2, options)).toThrow(InvalidOptionError);
      expect(() => colorize(map, 3, 2, options)).toThrow(message);
    }
    expect(() => colorize(map, 4, 2)).toThrow(/map has 6 values, expected 8 for 4x2/);
    expect(() => colorize(map, 4, 2)).toThrow(InvalidOptionError);
    expect(() => colorize(map, 6.5, 1)).toThrow(/width must be a positive integer/);
    expect(() => colorize(new Float32Array(0), 0, 0)).toThrow(InvalidOptionError);
  });
});

// ---------------------------------------------------------------------------------------------
// blendOver

describe('blendOver', () => {
  it('composites straight alpha "over" with round-half-up, as worked by hand', () => {
    const base = { width: 2, height: 2, data: new Uint8Array([100, 50, 200, 255, 9, 9, 9, 255, 0, 0, 255, 128, 7, 7, 7, 0]) };
    const heat = new Uint8ClampedArray([0, 0, 128, 102, 200, 100, 0, 0, 255, 0, 0, 128, 0, 0, 0, 0]);
    const out = blendOver(base, heat);
    expect([out.width, out.height]).toEqual([2, 2]);
    // Opaque base: round((102*heat + 153*base)/255): r 15300/255 = 60, g 7650/255 = 30, b 43656/255 = 171.2.
    expect(pixel(out.data, 0)).toEqual([60, 30, 171, 255]);
    // Heat alpha 0: the base is unchanged.
    expect(pixel(out.data, 1)).toEqual([9, 9, 9, 255]);
    // Both half transparent: D = 255*128 + 128*127 = 48896; r = round(32640*255/48896) = 170,
    // b = round(16256*255/48896) = 85, alpha = round(48896/255) = 192.
    expect(pixel(out.data, 2)).toEqual([170, 0, 85, 192]);
    // Both fully transparent.
    expect(pixel(out.data, 3)).toEqual([0, 0, 0, 0]);
    // An opaque heat pixel replaces the base; an RgbaImage heat layer works like bytes.
    const solid = colorize(new Float32Array([1, 0, 0.5, 0.25]), 2, 2);
    expect(Array.from(blendOver(base, { width: 2, height: 2, data: solid }).data)).toEqual(Array.from(solid));
  });

  it('stays within 1 of the reference overlay (which truncates) at opacity 0.4 over an opaque image', () => {
    const image = randomImage(19, 13, 3);
    const map = trickyUnsignedMap(19 * 13, 4).map((v) => (Number.isFinite(v) ? v : 0));
    const ref = overlay(image, map);
    const ours = blendOver(image, colorize(map, 19, 13, { opacity: 0.4 }));
    let exact = 0;
    for (let p = 0; p < ref.data.length; p++) {
      expect(Math.abs(ours.data[p] - ref.data[p])).toBeLessThanOrEqual(1);
      if (ours.data[p] === ref.data[p]) exact++;
    }
    expect(exact).toBeGreaterThan(ref.data.length / 2);
  });

  it('rejects mismatched sizes with InvalidOptionError', () => {
    const base = { width: 2, height: 2, data: new Uint8Array(16) };
    expect(() => blendOver(base, new Uint8ClampedArray(12))).toThrow(InvalidOptionError);
    expect(() => blendOver(base, new Uint8ClampedArray(12))).toThrow(/heat layer has 12 bytes, expected 16 \(2x2 RGBA\)/);
    expect(() => blendOver(base, { width: 4, height: 1, data: new Uint8ClampedArray(16) })).toThrow(/heat layer is 4x1, base image is 2x2/);
    expect(() => blendOver({ width: 3, height: 2, data: new Uint8Array(16) }, new Uint8ClampedArray(16))).toThrow(InvalidOptionError);
  });
});

// ---------------------------------------------------------------------------------------------
// GPU twin

function upload(device: GPUDevice, data: Float32Array, pad = 0): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(16, Math.ceil((data.length + pad) * 4 / 16) * 16),
    usage: BufferUsage.STORAGE | BufferUsage.COPY_DST,
  });
  writeFloats(device, buffer, data);
  return buffer;
}

/** Unpad rows of `bytesPerRow` into tight RGBA. */
function unpad(bytes: Uint8Array, width: number, height: number, bytesPerRow: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y++) out.push(...bytes.subarray(y * bytesPerRow, y * bytesPerRow + 4 * width));
  return out;
}

interface GpuCase {
  label: string;
  width: number;
  height: number;
  map: Float32Array;
  options: ColorizeOptions;
}

const SIZES: Array<[number, number]> = [[7, 5], [33, 17], [1, 9], [13, 1], [61, 39], [1, 1]];

function optionSets(colormap: Colormap): Array<{ name: string; signed: boolean; options: ColorizeOptions }> {
  return [
    { name: 'defaults', signed: false, options: { colormap } },
    { name: 'opacity+threshold', signed: false, options: { colormap, opacity: 0.4, threshold: 0.3 } },
    { name: 'contour', signed: false, options: { colormap, opacity: 0.7, threshold: 0.1, contour: { level: 0.5, color: [255, 255, 255] } } },
    { name: 'contour at a boundary', signed: false, options: { colormap, contour: { level: f32(64 / 255), color: [1, 2, 3] } } },
    { name: 'signed', signed: true, options: { colormap, signed: true } },
    { name: 'signed+threshold+contour', signed: true, options: { colormap, signed: true, opacity: 0.55, threshold: 0.2, contour: { level: -0.25, color: [0, 0, 0] } } },
    { name: 'signed maxAbs', signed: true, options: { colormap, signed: true, maxAbs: 2.5, contour: { level: 0, color: [9, 99, 199] } } },
  ];
}

async function runGpu(cases: GpuCase[]): Promise<Uint8Array[]> {
  const ctx = await testGpu();
  const rec = new Recorder(ctx, { label: 'colorize test' });
  const inputs: GPUBuffer[] = [];
  const outputs: ColorizedBuffer[] = [];
  cases.forEach((c, k) => {
    // The map sits at an offset inside a bigger buffer: it is bound with its exact window.
    const input = upload(ctx.device, new Float32Array([...new Float32Array(64), ...c.map]));
    inputs.push(input);
    rec.stage(`colorize ${k}`, (pass) => {
      outputs.push(recordColorize(rec, pass, { buffer: input, offset: 256 }, { ...c.options, width: c.width, height: c.height }));
    });
  });
  const reads = outputs.map((out, k) => {
    expect(out.bytesPerRow).toBe(4 * cases[k].width);
    return rec.read(out.buffer, 4 * cases[k].width * cases[k].height);
  });
  const { readbacks } = await rec.submit();
  for (const b of inputs) b.destroy();
  return reads.map((r) => new Uint8Array(readbacks[r]));
}

describe('colorize on the GPU', () => {
  for (const colormap of COLORMAPS) {
    it(`gives the CPU's bytes exactly for '${colormap}' (odd sizes, every option set)`, async () => {
      const cases: GpuCase[] = [];
      let seed = 100 * (COLORMAPS.indexOf(colormap) + 1);
      for (const set of optionSets(colormap)) {
        for (const [width, height] of SIZES) {
          const n = width * height;
          const map = set.signed ? signedMap(n, seed++, set.name === 'signed maxAbs' ? 1 : 3) : trickyUnsignedMap(n, seed++);
          if (set.signed && n > 4) {
            // Non-finite values in a signed map too (NaN -> 0; infinities -> float32 max).
            if (set.name !== 'signed maxAbs' && width > 20) map[n - 1 - width] = -Infinity;
            map[n - 2] = Number.NaN;
          }
          cases.push({ label: `${set.name} ${width}x${height}`, width, height, map, options: set.options });
        }
        // Degenerate maps: all zero (signed: m = 0, everything neutral or hidden) and constant.
        cases.push({ label: `${set.name} zeros`, width: 5, height: 3, map: new Float32Array(15), options: set.options });
        cases.push({ label: `${set.name} constant`, width: 3, height: 5, map: new Float32Array(15).fill(0.5), options: set.options });
      }
      const gpu = await runGpu(cases);
      cases.forEach((c, k) => {
        const cpu = colorize(c.map, c.width, c.height, c.options);
        const got = gpu[k];
        let mismatches = 0;
        for (let p = 0; p < cpu.length; p++) if (cpu[p] !== got[p]) mismatches++;
        expect(mismatches, `${colormap} ${c.label}`).toBe(0);
      });
      // The cases are not degenerate: some pixels are hidden, some on a contour, some opaque.
      const all = cases.map((c) => colorize(c.map, c.width, c.height, c.options));
      const alphas = new Set(all.flatMap((a) => Array.from(a.filter((_, k) => k % 4 === 3))));
      expect([...alphas].sort((a, b) => a - b)).toEqual(expect.arrayContaining([0, 102, 140, 179, 255]));
    });
  }

  it('writes padded rows and into a caller-owned output buffer', async () => {
    const ctx = await testGpu();
    const width = 37;
    const height = 11;
    const map = trickyUnsignedMap(width * height, 77);
    const input = upload(ctx.device, map);
    const bytesPerRow = alignedBytesPerRow(width);
    expect(bytesPerRow).toBe(256);
    const output = ctx.device.createBuffer({ size: height * bytesPerRow, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
    const rec = new Recorder(ctx);
    let out: ColorizedBuffer | undefined;
    const options: ColorizeOptions = { colormap: 'turbo', opacity: 0.3, threshold: 0.25, contour: { level: 0.6, color: [10, 20, 30] } };
    rec.stage('colorize', (pass) => {
      out = recordColorize(rec, pass, input, { ...options, width, height, bytesPerRow, output });
    });
    expect(out!.buffer).toBe(output);
    const r = rec.read(output, height * bytesPerRow);
    const { readbacks } = await rec.submit();
    expect(unpad(new Uint8Array(readbacks[r]), width, height, bytesPerRow)).toEqual(Array.from(colorize(map, width, height, options)));
    input.destroy();
    output.destroy();
  });

  it('writes an rgba8unorm texture that reads back equal to the CPU bytes', async () => {
    const ctx = await testGpu();
    for (const [width, height, options] of [
      [37, 11, { colormap: 'viridis', opacity: 0.6, threshold: 0.2, contour: { level: 0.5, color: [255, 0, 255] } }],
      [70, 3, { colormap: 'diverging', signed: true, threshold: 0.1 }],
      [5, 1, {}],
    ] as Array<[number, number, ColorizeOptions]>) {
      const map = options.signed ? signedMap(width * height, width) : trickyUnsignedMap(width * height, width);
      const input = upload(ctx.device, map);
      const texture = await colorizeToTexture(ctx, input, { ...options, width, height });
      expect([texture.width, texture.height, texture.format]).toEqual([width, height, 'rgba8unorm']);
      // Read the texture back (copyTextureToBuffer needs 256-byte rows too).
      const bytesPerRow = alignedBytesPerRow(width);
      const rec = new Recorder(ctx);
      const staging = rec.storage(bytesPerRow * height, 'texture readback');
      rec.encoder.copyTextureToBuffer({ texture }, { buffer: staging, bytesPerRow, rowsPerImage: height }, { width, height });
      const r = rec.read(staging, bytesPerRow * height);
      const { readbacks } = await rec.submit();
      expect(unpad(new Uint8Array(readbacks[r]), width, height, bytesPerRow), `${width}x${height}`).toEqual(
        Array.from(colorize(map, width, height, options)),
      );
      texture.destroy();
      input.destroy();
    }
  });

  it('records into a texture on an existing recorder, between other stages', async () => {
    const ctx = await testGpu();
    const width = 9;
    const height = 7;
    const map = signedMap(width * height, 9);
    const input = upload(ctx.device, map);
    const texture = createHeatmapTexture(ctx.device, width, height);
    const rec = new Recorder(ctx);
    const options: ColorizeOptions = { colormap: 'inferno', signed: true, opacity: 0.9 };
    recordColorizeToTexture(rec, input, texture, { ...options, width, height });
    const staging = rec.storage(256 * height, 'texture readback');
    rec.encoder.copyTextureToBuffer({ texture }, { buffer: staging, bytesPerRow: 256, rowsPerImage: height }, { width, height });
    const r = rec.read(staging, 256 * height);
    const { readbacks } = await rec.submit();
    expect(unpad(new Uint8Array(readbacks[r]), width, height, 256)).toEqual(Array.from(colorize(map, width, height, options)));
    texture.destroy();
    input.destroy();
  });

  it('rejects bad GPU arguments with InvalidOptionError before recording', async () => {
    const ctx = await testGpu();
    const input = upload(ctx.device, new Float32Array(12));
    const rec = new Recorder(ctx);
    rec.stage('bad', (pass) => {
      expect(() => recordColorize(rec, pass, input, { width: 5, height: 5 })).toThrow(/map buffer has 48 bytes, expected 100 for 5x5 float32/);
      expect(() => recordColorize(rec, pass, input, { width: 3, height: 4, colormap: 'gray' as Colormap })).toThrow(InvalidOptionError);
      expect(() => recordColorize(rec, pass, input, { width: 3, height: 4, bytesPerRow: 10 })).toThrow(/bytesPerRow must be a multiple of 4 and at least 12/);
      expect(() => recordColorize(rec, pass, input, { width: 3, height: 4, opacity: 2 })).toThrow(InvalidOptionError);
      expect(() => recordColorize(rec, pass, { buffer: input, offset: 16 }, { width: 3, height: 4 })).toThrow(InvalidOptionError);
    });
    const tight = { buffer: input, width: 3, height: 4, bytesPerRow: 12 };
    const texture = createHeatmapTexture(ctx.device, 3, 4);
    expect(() => recordCopyToTexture(rec, tight, texture)).toThrow(/bytesPerRow 12 is not a multiple of 256; colorize with bytesPerRow: alignedBytesPerRow\(3\)/);
    const small = createHeatmapTexture(ctx.device, 2, 2);
    expect(() => recordCopyToTexture(rec, { ...tight, bytesPerRow: 256 }, small)).toThrow(/texture is 2x2, smaller than the 3x4 map/);
    const bgra = ctx.device.createTexture({ size: [3, 4], format: 'bgra8unorm', usage: 0x02 });
    expect(() => recordCopyToTexture(rec, { ...tight, bytesPerRow: 256 }, bgra)).toThrow(/format is bgra8unorm; use rgba8unorm/);
    await expect(colorizeToTexture(ctx, input, { width: 3, height: 4, threshold: -1 })).rejects.toThrow(InvalidOptionError);
    // Nothing bad was recorded: the recorder still submits cleanly.
    await expect(rec.submit()).resolves.toBeDefined();
    for (const t of [texture, small, bgra]) t.destroy();
    input.destroy();
  });
});
